/**
 * csv.js — RFC 4180 CSV for the series the UI draws (tables are downloaded from the API's own
 * format=csv, so the file equals the API's answer; chart series exist only in the browser).
 *
 * Lines end with CRLF, the first line is the header, a field is quoted when it holds a comma,
 * a double quote, CR or LF (quotes doubled inside), or leading/trailing blanks.
 */

/**
 * One field.
 * @param {unknown} v null/undefined → empty
 * @returns {string}
 */
export function csvField(v) {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'bigint' ? v.toString() : String(v);
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) return '"' + s.replace(/"/g, '""') + '"';
  return s;
}

/**
 * A whole document.
 * @param {string[]} header
 * @param {unknown[][]} rows
 * @returns {string} header and rows, each line ending with CRLF
 */
export function toCsv(header, rows) {
  let out = header.map(csvField).join(',') + '\r\n';
  for (const row of rows) out += row.map(csvField).join(',') + '\r\n';
  return out;
}

/**
 * Series (as plotted: [{label, points: [[t_or_key, value], …]}]) as one table: a column
 * per series, a row per key in first-seen order, empty where a series has no point.
 * @param {string} keyName the first column's name ("timestamp", "month", …)
 * @param {{label: string, points: Array<[string|number, unknown]>}[]} series
 * @returns {string}
 */
export function seriesCsv(keyName, series) {
  const keys = [];
  const seen = new Set();
  for (const s of series) {
    for (const [k] of s.points) {
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
    }
  }
  const maps = series.map((s) => new Map(s.points.map(([k, v]) => [k, v])));
  const rows = keys.map((k) => [k, ...maps.map((m) => (m.has(k) ? m.get(k) : null))]);
  return toCsv([keyName, ...series.map((s) => s.label)], rows);
}

/**
 * A file name saying what and when: "netflow_top-src_last_15m_20261127T132205Z.csv".
 * @param {string} what
 * @param {string} range preset name or "start_end"
 * @param {string} stamp fileStamp() of the moment
 * @returns {string}
 */
export function csvFileName(what, range, stamp) {
  const clean = (s) => String(s).replace(/[^A-Za-z0-9_.-]+/g, '-');
  return `netflow_${clean(what)}_${clean(range)}_${clean(stamp)}.csv`;
}
