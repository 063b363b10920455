/**
 * state.js — the view state ⇄ the URL's query string, so a link reproduces what was shown
 * and back/forward step through it.
 *
 * One flat object; parseState never throws: unknown or bad values fall back to defaults (a
 * hand-edited link still opens something sensible), filters are checked by filters.js.
 * toQuery writes the view and every member that differs from its default, in a fixed order,
 * so equal states give equal URLs (history entries are only pushed when the URL changes).
 */
import { normalizeFilter, MAX_FILTERS } from './filters.js';

/**
 * @typedef {object} ViewState
 * @property {'realtime'|'historical'|'health'} view
 * @property {'last_15m'|'last_1h'|'last_24h'|'today'} range real-time preset
 * @property {string[]} filters API filter strings, ANDed (both traffic views)
 * @property {'protocol'|'src_ip'|'dst_ip'} stack what the volume chart is stacked by
 * @property {boolean} auto auto-refresh on
 * @property {'last_7d'|'last_30d'|'last_90d'|'custom'} hrange historical preset
 * @property {string} hstart custom range's first UTC day, YYYY-MM-DD ('' unless custom)
 * @property {string} hend custom range's last UTC day, inclusive, YYYY-MM-DD ('' unless custom)
 * @property {'day'|'month'} gran trends per day or per month
 * @property {'src_ip'|'dst_ip'|'dst_port'} top historical top-N field
 */

export const VIEWS = ['realtime', 'historical', 'health'];
export const RANGES = ['last_15m', 'last_1h', 'last_24h', 'today'];
export const STACKS = ['protocol', 'src_ip', 'dst_ip'];
export const HRANGES = ['last_7d', 'last_30d', 'last_90d', 'custom'];
export const GRANS = ['day', 'month'];
export const TOPS = ['src_ip', 'dst_ip', 'dst_port'];

/** @returns {ViewState} */
export function defaultState() {
  return {
    view: 'realtime', range: 'last_15m', filters: [], stack: 'protocol', auto: true,
    hrange: 'last_7d', hstart: '', hend: '', gran: 'day', top: 'src_ip',
  };
}

/**
 * Is text a real calendar day YYYY-MM-DD (UTC)?
 * @param {string} text
 * @returns {boolean}
 */
export function isDay(text) {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text)) return false;
  const d = new Date(text + 'T00:00:00Z');
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

/** The longest custom range: daily buckets, at most 1000 per series (the API's bound). */
export const MAX_CUSTOM_DAYS = 1000;

/**
 * Why a custom range of UTC days [first, last] cannot be asked, or null when it can.
 * @param {string} first YYYY-MM-DD
 * @param {string} last YYYY-MM-DD, inclusive
 * @returns {string|null}
 */
export function customRangeError(first, last) {
  if (!isDay(first) || !isDay(last)) return 'Pick a first and a last day';
  if (first > last) return 'The first day is after the last day';
  const days = (Date.parse(last) - Date.parse(first)) / 86400000 + 1;
  if (days > MAX_CUSTOM_DAYS) return `At most ${MAX_CUSTOM_DAYS} days (this range has ${days})`;
  return null;
}

/**
 * @template T
 * @param {string|null} v
 * @param {readonly T[]} allowed
 * @param {T} fallback
 * @returns {T}
 */
function oneOf(v, allowed, fallback) {
  return allowed.includes(/** @type {T} */ (/** @type {unknown} */ (v))) ? /** @type {T} */ (/** @type {unknown} */ (v)) : fallback;
}

/**
 * The state a query string describes.
 * @param {string} search location.search, with or without "?"
 * @returns {ViewState}
 */
export function parseState(search) {
  const q = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const d = defaultState();
  const filters = [];
  for (const f of q.getAll('filter')) {
    const n = normalizeFilter(f);
    if (n !== null && !filters.includes(n) && filters.length < MAX_FILTERS) filters.push(n);
  }
  const s = {
    view: oneOf(q.get('view'), VIEWS, d.view),
    range: oneOf(q.get('range'), RANGES, d.range),
    filters,
    stack: oneOf(q.get('stack'), STACKS, d.stack),
    auto: q.get('auto') === '0' ? false : d.auto,
    hrange: oneOf(q.get('hrange'), HRANGES, d.hrange),
    hstart: '',
    hend: '',
    gran: oneOf(q.get('gran'), GRANS, d.gran),
    top: oneOf(q.get('top'), TOPS, d.top),
  };
  if (s.hrange === 'custom') {
    const a = q.get('hstart') ?? '';
    const b = q.get('hend') ?? '';
    if (customRangeError(a, b) === null) {
      s.hstart = a;
      s.hend = b;
    } else {
      s.hrange = d.hrange;
    }
  }
  return /** @type {ViewState} */ (s);
}

/**
 * The query string of a state (without "?"); members at their defaults are left out.
 * @param {ViewState} s
 * @returns {string}
 */
export function toQuery(s) {
  const d = defaultState();
  const q = new URLSearchParams();
  q.set('view', s.view);
  if (s.range !== d.range) q.set('range', s.range);
  for (const f of s.filters) q.append('filter', f);
  if (s.stack !== d.stack) q.set('stack', s.stack);
  if (s.auto !== d.auto) q.set('auto', s.auto ? '1' : '0');
  if (s.hrange !== d.hrange) q.set('hrange', s.hrange);
  if (s.hrange === 'custom') {
    q.set('hstart', s.hstart);
    q.set('hend', s.hend);
  }
  if (s.gran !== d.gran) q.set('gran', s.gran);
  if (s.top !== d.top) q.set('top', s.top);
  return q.toString();
}

/**
 * The API range parameters of the historical state: time_range for a preset, start/end for a
 * custom range (whole UTC days, the end day included).
 * @param {ViewState} s
 * @returns {Record<string, string>}
 */
export function histRangeParams(s) {
  if (s.hrange !== 'custom') return { time_range: s.hrange };
  const end = new Date(s.hend + 'T00:00:00Z');
  end.setUTCDate(end.getUTCDate() + 1);
  return { start: `${s.hstart}T00:00:00Z`, end: end.toISOString().replace(/\.\d+Z$/, 'Z') };
}
