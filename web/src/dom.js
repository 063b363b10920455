/**
 * dom.js — the few DOM helpers every view uses: element creation, tables with the test
 * contract's row attributes, empty states, panels, file downloads.
 *
 * Text always goes in through textContent (never innerHTML), so keys and messages from the
 * API cannot inject markup.
 */

/**
 * Creates an element. attrs: "class", "text", on<Event> functions, boolean true → empty
 * attribute, false/null/undefined → left out, anything else → setAttribute(String()).
 * @param {string} tag
 * @param {Record<string, any>} [attrs]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/**
 * An explanation where a panel has nothing to show.
 * @param {string} text
 * @returns {HTMLElement}
 */
export function emptyState(text) {
  return h('p', { class: 'empty', 'data-testid': 'empty-state', text });
}

/**
 * A panel: a titled box with optional actions (buttons) and a body.
 * @param {string} title
 * @param {HTMLElement[]} actions
 * @param {string} [cls] extra class
 * @returns {{el: HTMLElement, body: HTMLElement, meta: HTMLElement}}
 */
export function panel(title, actions = [], cls = '') {
  const body = h('div', { class: 'panel-body' });
  const meta = h('span', { class: 'meta' });
  const el = h('section', { class: `panel ${cls}`.trim(), 'aria-label': title },
    h('header', { class: 'panel-head' }, h('h2', { text: title }), meta, h('span', { class: 'actions' }, ...actions)),
    body);
  return { el, body, meta };
}

/**
 * @typedef {object} Column
 * @property {string} label
 * @property {boolean} [num] right-aligned number
 * @property {(row: any) => Node|string} cell
 */

/**
 * A table following the test contract: <table data-testid=…> whose body rows are
 * <tr data-testid="row" data-key=… data-value=…>.
 * @param {string} testid
 * @param {string} caption accessible name
 * @param {Column[]} columns
 * @param {any[]} rows
 * @param {(row: any) => string} key
 * @param {(row: any) => string} value the raw metric as the API gave it
 * @returns {HTMLElement}
 */
export function dataTable(testid, caption, columns, rows, key, value) {
  const head = h('tr', {}, ...columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : undefined, text: c.label })));
  const body = rows.map((r) =>
    h('tr', { 'data-testid': 'row', 'data-key': key(r), 'data-value': value(r) },
      ...columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.cell(r)))));
  return h('table', { 'data-testid': testid, class: 'data' },
    h('caption', { class: 'sr-only', text: caption }), h('thead', {}, head), h('tbody', {}, ...body));
}

/**
 * A value that adds a filter when clicked (IPs and ports anywhere).
 * @param {string} text shown
 * @param {string} filter API filter string added
 * @param {(f: string) => void} add
 * @returns {HTMLElement}
 */
export function filterLink(text, filter, add) {
  return h('button', {
    type: 'button', class: 'linkish', title: `Filter on ${filter}`, 'aria-label': `Add filter ${filter}`,
    'data-add-filter': filter, onclick: () => add(filter), text,
  });
}

/**
 * Saves a Blob as a file.
 * @param {Blob} blob
 * @param {string} name
 */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, class: 'sr-only' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * A small button.
 * @param {string} testid
 * @param {string} text
 * @param {() => void} onclick
 * @param {string} [label] aria-label
 * @returns {HTMLElement}
 */
export function button(testid, text, onclick, label) {
  return h('button', { type: 'button', class: 'btn', 'data-testid': testid, onclick, 'aria-label': label, text });
}

/**
 * The discreet "backend · ms" line of an answer (with its flags).
 * @param {any} answer a NetflowAnswer
 * @returns {string}
 */
export function answerMeta(answer) {
  if (!answer || typeof answer !== 'object') return '';
  const parts = [];
  if (answer.backend) parts.push(String(answer.backend));
  if (answer.elapsed_ms !== undefined) parts.push(`${answer.elapsed_ms} ms`);
  if (answer.incomplete) parts.push('incomplete');
  if (answer.approximate) parts.push('approximate');
  return parts.join(' · ');
}

/**
 * A note that says the panels show older data after a failed refresh (the views keep their
 * last data on errors). ok() after a good refresh hides it and remembers when; failed() shows
 * it with that time.
 * @returns {{el: HTMLElement, ok: () => void, failed: () => void}}
 */
export function staleNote() {
  let last = '';
  const el = h('span', { class: 'stale', 'data-testid': 'stale-note', hidden: true });
  return {
    el,
    ok() {
      last = new Date().toISOString().slice(11, 19);
      el.hidden = true;
    },
    failed() {
      el.textContent = last ? `Last refresh failed: showing data from ${last} UTC` : 'No data yet';
      el.hidden = false;
    },
  };
}
