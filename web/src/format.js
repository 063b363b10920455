/**
 * format.js — numbers and times for humans: bytes, bits/s, packets, counts with thousands
 * separators, UTC times, protocol names.
 *
 * Counters come from the API as exact decimal integers that may exceed 2^53 (json.js keeps
 * those as strings), so every function here takes number | string | bigint and never rounds
 * the raw value it was given; only the displayed text is rounded.
 */

/** IANA protocol numbers worth a name in tables and legends. */
const PROTOCOLS = { 1: 'ICMP', 2: 'IGMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 89: 'OSPF', 132: 'SCTP' };

/**
 * A raw counter as a number for arithmetic on a display scale (may lose precision > 2^53).
 * @param {number|string|bigint|null|undefined} v
 * @returns {number}
 */
export function toNumber(v) {
  if (v === null || v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A raw integer counter as a BigInt (exact); 0 for anything that is not an integer.
 * @param {number|string|bigint|null|undefined} v
 * @returns {bigint}
 */
export function toBigInt(v) {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : 0n;
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return BigInt(v);
  return 0n;
}

/**
 * An integer with thousands separators ("1,234,567"), exact for big values.
 * @param {number|string|bigint} v
 * @returns {string}
 */
export function formatCount(v) {
  if (typeof v === 'number' && !Number.isInteger(v)) {
    return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
  }
  const s = toBigInt(v).toString();
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  const out = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return neg ? '-' + out : out;
}

/**
 * Scales a value with decimal (1000) or binary (1024) prefixes.
 * @param {number} n
 * @param {string[]} units smallest first
 * @param {number} base
 * @returns {string}
 */
function scaled(n, units, base) {
  let i = 0;
  let x = Math.abs(n);
  while (x >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  const digits = i === 0 ? 0 : x < 10 ? 2 : x < 100 ? 1 : 0;
  return `${n < 0 ? '-' : ''}${x.toFixed(digits)} ${units[i]}`;
}

/**
 * Bytes in binary units: "0 B", "1.50 KiB", "12.3 MiB", …
 * @param {number|string|bigint} v
 * @returns {string}
 */
export function formatBytes(v) {
  return scaled(toNumber(v), ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], 1024);
}

/**
 * A bit rate in decimal units: "0 bit/s", "1.50 kbit/s", "12.3 Mbit/s", …
 * @param {number|string|bigint} v bits per second
 * @returns {string}
 */
export function formatBits(v) {
  return scaled(toNumber(v), ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s', 'Pbit/s'], 1000);
}

/**
 * A count in decimal units for charts' axes: "950", "1.50 k", "12.3 M".
 * @param {number|string|bigint} v
 * @returns {string}
 */
export function formatShort(v) {
  return scaled(toNumber(v), ['', 'k', 'M', 'G', 'T', 'P', 'E'], 1000).trim();
}

/**
 * A metric's value for a table cell.
 * @param {'bytes'|'packets'|'flows'|string} metric
 * @param {number|string|bigint} v
 * @returns {string}
 */
export function formatMetric(metric, v) {
  return metric === 'bytes' ? formatBytes(v) : formatCount(v);
}

/**
 * A protocol number with its name: "TCP (6)"; unknown numbers stay numbers.
 * @param {number|string} p
 * @returns {string}
 */
export function protocolName(p) {
  const name = PROTOCOLS[/** @type {number} */ (Number(p))];
  return name ? `${name} (${p})` : `proto ${p}`;
}

/**
 * A time as "2026-11-27 13:22:05 UTC" (seconds dropped when zero and short is set).
 * @param {string|number|Date} t RFC 3339 text, epoch milliseconds or a Date
 * @returns {string}
 */
export function formatTime(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

/**
 * An RFC 3339 UTC time without fractions: "2026-11-27T13:22:05Z".
 * @param {Date|number} t
 * @returns {string}
 */
export function rfc3339(t) {
  return new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * A compact UTC stamp for file names: "20261127T132205Z".
 * @param {Date|number} t
 * @returns {string}
 */
export function fileStamp(t) {
  return rfc3339(t).replace(/[-:]/g, '');
}

/**
 * A duration in seconds for humans: "45 s", "3 min", "2 h 5 min", "3 d 4 h".
 * @param {number|null|undefined} s
 * @returns {string}
 */
export function formatDuration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
