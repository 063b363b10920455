/**
 * filterbar.js — the filter bar shared by the traffic views: an input that turns what is
 * typed into an API filter (filters.js) and removable chips, one per filter in the state.
 */
import { h } from './dom.js';
import { parseFilterInput, MAX_FILTERS } from './filters.js';

/**
 * @param {object} ctx
 * @param {() => import('./state.js').ViewState} ctx.getState
 * @param {(filters: string[]) => void} ctx.setFilters
 * @returns {{el: HTMLElement, render: () => void}}
 */
export function createFilterBar(ctx) {
  const input = /** @type {HTMLInputElement} */ (h('input', {
    type: 'text', 'data-testid': 'filter-input', id: 'filter-input', autocomplete: 'off', spellcheck: 'false',
    placeholder: '10.0.0.0/8, 443, tcp, dst 10.1.2.3, exporter 10.1.1.1, in_if 3 …',
    'aria-describedby': 'filter-msg',
  }));
  const msg = h('span', { id: 'filter-msg', class: 'filter-msg', role: 'status' });
  const chips = h('ul', { class: 'chips', 'aria-label': 'Active filters' });

  function add() {
    const r = parseFilterInput(input.value);
    if (!r.ok) {
      msg.textContent = r.error;
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    const cur = ctx.getState().filters;
    if (cur.length >= MAX_FILTERS) {
      msg.textContent = `At most ${MAX_FILTERS} filters`;
      return;
    }
    msg.textContent = '';
    input.removeAttribute('aria-invalid');
    input.value = '';
    if (!cur.includes(r.filter)) ctx.setFilters([...cur, r.filter]);
  }

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add();
    }
  });

  const el = h('div', { class: 'filterbar', role: 'search' },
    h('label', { for: 'filter-input', class: 'sr-only', text: 'Add a filter' }),
    input,
    h('button', { type: 'button', class: 'btn', 'data-testid': 'filter-add', onclick: add, text: 'Add filter' }),
    chips, msg);

  function render() {
    const filters = ctx.getState().filters;
    chips.replaceChildren(...filters.map((f) =>
      h('li', { class: 'chip', 'data-testid': 'filter-chip', 'data-filter': f },
        h('span', { text: f }),
        h('button', {
          type: 'button', class: 'chip-x', 'data-testid': 'filter-chip-remove', 'aria-label': `Remove filter ${f}`,
          onclick: () => ctx.setFilters(ctx.getState().filters.filter((x) => x !== f)), text: '×',
        }))));
    if (filters.length === 0) chips.append(h('li', { class: 'chips-none', text: 'No filters: all traffic' }));
  }
  render();
  return { el, render };
}
