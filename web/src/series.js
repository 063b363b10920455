/**
 * series.js — shaping API time series for charts: stacking several series on common buckets
 * and summing daily buckets by calendar month. Pure functions (no DOM, no Chart.js) so they
 * are unit-tested on their own.
 *
 * The API leaves buckets without flows out of a series, so series of different keys have
 * different timestamps; a stacked chart needs one x axis: the union of every series' buckets,
 * ascending, with 0 where a series has none. Values stay what the API gave (number or, above
 * 2^53, decimal string); sums use BigInt so they are exact.
 */
import { toBigInt } from './format.js';

/**
 * @typedef {{timestamp: string, spike?: boolean} & Record<string, unknown>} SeriesRow
 * @typedef {{label: string, points: Array<[string, number|string]>}} Plotted
 */

/**
 * Aligns series on the union of their buckets.
 * @param {{label: string, rows: SeriesRow[]}[]} series rows as the API answered them
 * @param {string} metric the value's member name (bytes, packets, flows)
 * @returns {{labels: string[], series: Plotted[]}} labels: timestamps ascending; each series
 *   has one point per label, [timestamp, value], 0 for a missing bucket
 */
export function alignSeries(series, metric) {
  const all = new Set();
  for (const s of series) for (const r of s.rows) all.add(r.timestamp);
  const labels = [...all].sort((a, b) => Date.parse(a) - Date.parse(b));
  const out = series.map((s) => {
    const byT = new Map(s.rows.map((r) => [r.timestamp, /** @type {number|string} */ (r[metric])]));
    return {
      label: s.label,
      points: labels.map((t) => /** @type {[string, number|string]} */ ([t, byT.has(t) ? byT.get(t) ?? 0 : 0])),
    };
  });
  return { labels, series: out };
}

/**
 * The calendar month (UTC) of a time: "2026-11".
 * @param {string} t RFC 3339
 * @returns {string}
 */
export function monthOf(t) {
  return new Date(t).toISOString().slice(0, 7);
}

/**
 * Sums a series' buckets by UTC calendar month.
 * @param {SeriesRow[]} rows daily (or finer) buckets
 * @param {string} metric
 * @returns {SeriesRow[]} one row per month that has buckets, ascending: {timestamp:
 *   "YYYY-MM-01T00:00:00Z", [metric]: exact sum (number when ≤ 2^53, else decimal string),
 *   spike: any bucket of the month was a spike}
 */
export function aggregateByMonth(rows, metric) {
  /** @type {Map<string, {sum: bigint, spike: boolean}>} */
  const months = new Map();
  for (const r of rows) {
    const m = monthOf(r.timestamp);
    const cur = months.get(m) ?? { sum: 0n, spike: false };
    cur.sum += toBigInt(/** @type {number|string} */ (r[metric]));
    cur.spike = cur.spike || r.spike === true;
    months.set(m, cur);
  }
  return [...months.keys()].sort().map((m) => {
    const { sum, spike } = /** @type {{sum: bigint, spike: boolean}} */ (months.get(m));
    return { timestamp: `${m}-01T00:00:00Z`, [metric]: bigToJson(sum), spike };
  });
}

/**
 * A BigInt as the API would give it: a number when exact, a decimal string above 2^53.
 * @param {bigint} b
 * @returns {number|string}
 */
export function bigToJson(b) {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

/**
 * The exact sum of one member over rows.
 * @param {Record<string, unknown>[]} rows
 * @param {string} metric
 * @returns {bigint}
 */
export function sumRows(rows, metric) {
  let s = 0n;
  for (const r of rows) s += toBigInt(/** @type {number|string} */ (r[metric]));
  return s;
}

/**
 * Completes stacked series so the stack adds up to the total: an "other" series holding
 * total − sum(series) per bucket (clamped at 0), added only when it is non-zero somewhere.
 * Buckets the total has and the series lack are added (the series get 0 there).
 * @param {{label: string, rows: SeriesRow[]}[]} series the stacked keys' rows
 * @param {SeriesRow[]} totalRows the same query without the key filters
 * @param {string} metric
 * @param {string} [otherLabel]
 * @returns {{labels: string[], series: Plotted[]}} aligned, with "other" last when needed
 */
export function stackWithOther(series, totalRows, metric, otherLabel = 'other') {
  const aligned = alignSeries([...series, { label: '\u0000total', rows: totalRows }], metric);
  const total = /** @type {Plotted} */ (aligned.series.pop());
  const other = aligned.labels.map((t, i) => {
    let rest = toBigInt(total.points[i][1]);
    for (const s of aligned.series) rest -= toBigInt(s.points[i][1]);
    return /** @type {[string, number|string]} */ ([t, bigToJson(rest > 0n ? rest : 0n)]);
  });
  if (other.some(([, v]) => v !== 0)) aligned.series.push({ label: otherLabel, points: other });
  return aligned;
}

/**
 * Adds a zero row for every bucket of [start, end) the rows lack, so a chart shows the whole
 * range (a 7-day view has 7 days even when flows exist on one): days (step "day") start at
 * 00:00 UTC, months (step "month") on the 1st.
 * @param {SeriesRow[]} rows ascending, as the API answered (or as aggregateByMonth made them)
 * @param {string} start RFC 3339, the answer's start
 * @param {string} end RFC 3339, the answer's end (exclusive)
 * @param {'day'|'month'} step
 * @param {string} metric
 * @returns {SeriesRow[]} ascending; the given rows unchanged, zero rows added; at most 1000
 *   buckets are added (the API's own bound), beyond that the rows are returned as they are
 */
export function fillBuckets(rows, start, end, step, metric) {
  const t0 = Date.parse(start), t1 = Date.parse(end);
  if (!(t0 < t1)) return rows;
  const have = new Set(rows.map((r) => Date.parse(r.timestamp)));
  const grid = [];
  const d = new Date(t0);
  let t = step === 'month' ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  while (t < t1) {
    if (grid.length > 1000) return rows;
    grid.push(t);
    const n = new Date(t);
    t = step === 'month' ? Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 1, 1) : t + 86400000;
  }
  const added = grid.filter((x) => !have.has(x))
    .map((x) => ({ timestamp: new Date(x).toISOString().replace('.000Z', 'Z'), [metric]: 0, spike: false }));
  if (added.length === 0) return rows;
  return [...rows, ...added].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
}

