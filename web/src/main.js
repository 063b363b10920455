/**
 * main.js — the app's entry: login page or the shell (header, navigation, banner, one view),
 * the URL state (state.js) with history, auto-refresh timers, the token refresh, the theme.
 *
 * One App object owns all mutable state (no module-level variables besides the constants).
 * Views are created once per login and re-used; switching views or changing the state only
 * re-syncs controls and refreshes the active view.
 */
import { createApi, describeError, ApiError } from './api.js';
import { parseState, toQuery } from './state.js';
import { addFilter } from './filters.js';
import { h } from './dom.js';
import { createFilterBar } from './filterbar.js';
import { createRealtimeView } from './views/realtime.js';
import { createHistoricalView } from './views/historical.js';
import { createHealthView } from './views/health.js';

const REFRESH_MS = 10000;
const THEME_KEY = 'netflow.theme';
const NAV = [['realtime', 'Real-Time'], ['historical', 'Historical'], ['health', 'Pipeline health']];

/** Picks the theme: the saved choice, else the system's, else dark. */
function initialTheme() {
  try {
    const saved = localStorage.getItem(THEME_KEY);
    if (saved === 'dark' || saved === 'light') return saved;
  } catch { /* storage blocked: follow the system */ }
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

function startApp() {
  const root = /** @type {HTMLElement} */ (document.getElementById('app'));
  const app = {
    state: parseState(location.search),
    /** @type {any} */ views: null,
    /** @type {any} */ filterBar: null,
    /** @type {HTMLElement[]} */ nav: [],
    /** @type {HTMLElement|null} */ main: null,
    timer: 0,
    busy: false,
  };
  document.documentElement.setAttribute('data-theme', initialTheme());

  const api = createApi({
    fetchFn: (...a) => fetch(...a),
    storage: sessionStorage,
    onAuthLost: () => showLogin('Your session has ended; please log in again.'),
  });

  // The banner: visible only while an error stands; role=alert so screen readers say it.
  const bannerText = h('span');
  const banner = h('div', { class: 'banner', role: 'alert', 'data-testid': 'error-banner', hidden: true },
    bannerText, h('button', { type: 'button', class: 'chip-x dismiss', 'aria-label': 'Dismiss', onclick: () => { banner.hidden = true; } }));
  const bannerApi = {
    /** @param {unknown} e */
    error(e) {
      if (e instanceof ApiError && e.kind === 'auth') return; // the login page says it
      bannerText.textContent = describeError(e);
      banner.hidden = false;
    },
    clear() {
      banner.hidden = true;
      bannerText.textContent = '';
    },
  };

  /** @param {Partial<import('./state.js').ViewState>} patch @param {boolean} [replace] */
  function setState(patch, replace = false) {
    app.state = { ...app.state, ...patch };
    const url = '?' + toQuery(app.state);
    if (url !== location.search) {
      if (replace) history.replaceState(null, '', url);
      else history.pushState(null, '', url);
    }
    showView();
  }

  function showLogin(message = '') {
    stopTimer();
    app.views = null;
    const user = /** @type {HTMLInputElement} */ (h('input', { id: 'login-username', 'data-testid': 'login-username', autocomplete: 'username', required: true }));
    const pass = /** @type {HTMLInputElement} */ (h('input', { id: 'login-password', 'data-testid': 'login-password', type: 'password', autocomplete: 'current-password', required: true }));
    const err = h('p', { class: 'login-error', 'data-testid': 'login-error', role: 'alert', hidden: !message, text: message });
    const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'login-submit', text: 'Log in' }));
    const form = h('form', { class: 'login', 'aria-label': 'Log in' },
      h('h1', { text: 'ServiceRadar NetFlow' }),
      h('label', { for: 'login-username', text: 'User name' }), user,
      h('label', { for: 'login-password', text: 'Password' }), pass,
      submit, err);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      err.hidden = true;
      try {
        await api.login(user.value, pass.value);
        showShell();
      } catch (x) {
        err.textContent = describeError(x);
        err.hidden = false;
      } finally {
        submit.disabled = false;
      }
    });
    root.replaceChildren(h('main', { class: 'login-page' }, form));
    user.focus();
  }

  function showShell() {
    const s = api.session();
    const ctx = {
      api, banner: bannerApi,
      getState: () => app.state,
      setState,
      addFilter: (/** @type {string} */ f) => setState({ filters: addFilter(app.state.filters, f) }),
    };
    app.filterBar = createFilterBar({ getState: () => app.state, setFilters: (filters) => setState({ filters }) });
    app.views = {
      realtime: createRealtimeView(ctx),
      historical: createHistoricalView(ctx),
      health: createHealthView(ctx),
    };
    const navButtons = NAV.map(([id, text]) => h('a', {
      href: '?view=' + id, 'data-testid': `nav-${id}`, 'data-view': id, class: 'nav-link',
      onclick: (/** @type {MouseEvent} */ e) => { e.preventDefault(); setState({ view: /** @type {any} */ (id) }); }, text,
    }));
    const themeBtn = h('button', {
      type: 'button', class: 'btn', 'data-testid': 'theme-toggle', 'aria-label': 'Switch between dark and light theme',
      onclick: () => {
        const next = document.documentElement.getAttribute('data-theme') === 'dark' ? 'light' : 'dark';
        document.documentElement.setAttribute('data-theme', next);
        try { localStorage.setItem(THEME_KEY, next); } catch { /* not kept: fine */ }
        refreshActive();
      }, text: '◐ Theme',
    });
    const header = h('header', { class: 'top' },
      h('span', { class: 'brand', text: 'ServiceRadar NetFlow' }),
      h('nav', { 'aria-label': 'Network Traffic' }, h('span', { class: 'nav-title', text: 'Network Traffic:' }), ...navButtons),
      h('span', { class: 'spacer' }),
      themeBtn,
      h('span', { class: 'muted user', text: s?.noauth ? 'authentication off' : s?.username ?? '' }),
      h('button', { type: 'button', class: 'btn', 'data-testid': 'logout', onclick: () => { api.logout(); bannerApi.clear(); showLogin(); }, text: 'Log out' }));
    const main = h('main', { id: 'view' });
    root.replaceChildren(header, banner, main);
    app.nav = navButtons;
    app.main = main;
    showView();
    startTimer();
  }

  function showView() {
    if (!app.views) return;
    const v = app.views[app.state.view];
    for (const a of app.nav) {
      if (a.getAttribute('data-view') === app.state.view) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    app.filterBar.render();
    if (app.main.firstChild !== v.el) app.main.replaceChildren(v.el);
    // The filter bar is shared by the traffic views: move it into the view shown.
    const slot = v.el.querySelector('.filter-slot');
    if (slot && slot.firstChild !== app.filterBar.el) slot.replaceChildren(app.filterBar.el);
    refreshActive();
  }

  function refreshActive() {
    if (!app.views) return;
    const v = app.views[app.state.view];
    v.refresh().catch(bannerApi.error);
  }

  function tick() {
    api.refreshIfDue().catch(() => { /* the next query reports it */ });
    if (!app.views || document.hidden) return;
    if (app.state.view === 'realtime' && !app.state.auto) return;
    if (app.state.view === 'historical') return; // days do not move every 10 s
    refreshActive();
  }

  function startTimer() {
    stopTimer();
    app.timer = window.setInterval(tick, REFRESH_MS);
  }
  function stopTimer() {
    if (app.timer) window.clearInterval(app.timer);
    app.timer = 0;
  }

  window.addEventListener('popstate', () => {
    app.state = parseState(location.search);
    showView();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && app.views && (app.state.view === 'health' || app.state.auto)) refreshActive();
  });
  // Normalise the URL (defaults dropped, bad values replaced) without a history entry.
  history.replaceState(null, '', '?' + toQuery(app.state));
  if (api.session()) showShell();
  else api.probeNoAuth().then((open) => (open ? showShell() : showLogin()));
}

try {
  startApp();
} catch (e) {
  // Never a blank page.
  document.body.textContent = `The web UI failed to start: ${e instanceof Error ? e.message : e}`;
}
