/**
 * filters.js — what the user types in the filter bar → API filter strings ("field=value").
 *
 * Pure functions, no DOM: the same rules as the core's parser (lib/query/parse.c) so that a
 * chip the UI accepts is a filter the API accepts, and a typo is refused here with a message
 * instead of a 400 later. Accepted input (case-insensitive keywords, surrounding blanks ignored):
 *   10.0.0.0/8, 2001:db8::1        → src_ip=…       (a bare address or CIDR)
 *   443                            → dst_port=443   (a bare number 0..65535)
 *   tcp, udp, icmp, …              → protocol=tcp   (a bare protocol name)
 *   src 1.2.3.4 | dst 1.2.3.4      → src_ip / dst_ip
 *   sport 80 | dport 443 | port 443 → src_port / dst_port / dst_port
 *   proto 6 | protocol tcp         → protocol
 *   exporter 10.1.1.1, in_if 3, out_if 4, src_as 65000, dst_as 65001
 *   field=value (any API field name or alias, e.g. dst_ip=10.1.0.0/16)
 */

/** Protocol names the API accepts besides numbers (docs/openapi.json ProtocolName). */
export const PROTOCOL_NAMES = ['tcp', 'udp', 'icmp', 'icmpv6', 'gre', 'esp', 'sctp'];

/** @type {Record<string, 'addr'|'port'|'proto'|'u32'>} value kind of each API filter field */
export const FIELD_KINDS = {
  src_ip: 'addr', dst_ip: 'addr', exporter: 'addr',
  src_port: 'port', dst_port: 'port', protocol: 'proto',
  in_if: 'u32', out_if: 'u32', src_as: 'u32', dst_as: 'u32',
};

/** Words accepted before a value → the API field. */
const KEYWORDS = {
  src_ip: 'src_ip', dst_ip: 'dst_ip', exporter: 'exporter', src_port: 'src_port',
  dst_port: 'dst_port', protocol: 'protocol', in_if: 'in_if', out_if: 'out_if',
  src_as: 'src_as', dst_as: 'dst_as',
  src_addr: 'src_ip', dst_addr: 'dst_ip', exporter_ip: 'exporter',
  src: 'src_ip', dst: 'dst_ip', source: 'src_ip', destination: 'dst_ip',
  sport: 'src_port', dport: 'dst_port', port: 'dst_port', proto: 'protocol',
  ifin: 'in_if', ifout: 'out_if',
};

/** API field names and their aliases (openapi FilterField x-aliases) → the field. */
const API_NAMES = {
  src_ip: 'src_ip', dst_ip: 'dst_ip', exporter: 'exporter', src_port: 'src_port',
  dst_port: 'dst_port', protocol: 'protocol', in_if: 'in_if', out_if: 'out_if',
  src_as: 'src_as', dst_as: 'dst_as', src_addr: 'src_ip', dst_addr: 'dst_ip',
  exporter_ip: 'exporter',
};

/** At most this many conditions in one request (openapi: filter maxItems 16). */
export const MAX_FILTERS = 16;

/**
 * Is text a dotted-quad IPv4 address as inet_pton accepts it (four decimal octets 0..255,
 * no leading zeros beyond a single digit "0", no blanks)?
 * @param {string} text
 * @returns {boolean}
 */
export function isIPv4(text) {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return false;
    if (p.length > 1 && p[0] === '0') return false;
    if (Number(p) > 255) return false;
  }
  return true;
}

/**
 * Is text an IPv6 address as inet_pton accepts it (hex groups of 1..4 digits, at most one
 * "::", an optional trailing dotted-quad IPv4 taking two groups; no zone id, no brackets)?
 * @param {string} text
 * @returns {boolean}
 */
export function isIPv6(text) {
  if (text.length === 0 || text.length > 45 || !text.includes(':')) return false;
  let groups = 0;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return false;
    groups += 2;
    body = body.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "64:ff9b::1.2.3.4" leaves "64:ff9b::", "1:2:3:4:5:6:1.2.3.4"
    // leaves "1:2:3:4:5:6:": a single trailing colon belongs to the IPv4 part.
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const compressed = halves.length === 2;
  for (const half of halves) {
    if (half === '') continue;
    for (const g of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      groups++;
    }
  }
  return compressed ? groups <= 7 : groups === 8;
}

/**
 * Is text an address or a CIDR the API takes (IPv4 /0..32, IPv6 /0..128, decimal prefix
 * length without sign or leading zeros beyond "0")?
 * @param {string} text
 * @returns {boolean}
 */
export function isAddressOrCidr(text) {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) return false;
  if (slash < 0) return true;
  const len = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(len)) return false;
  return Number(len) <= (v4 ? 32 : 128);
}

/**
 * An unsigned decimal number in 0..max, canonical (no sign, blanks or extra leading zeros),
 * or null.
 * @param {string} text
 * @param {number} max
 * @returns {string|null}
 */
function uintText(text, max) {
  if (!/^[0-9]{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n <= max ? String(n) : null;
}

/**
 * Checks one value for one API field and returns its canonical text.
 * @param {string} field an API filter field (FIELD_KINDS key)
 * @param {string} value
 * @returns {{ok: true, value: string} | {ok: false, error: string}}
 */
export function checkValue(field, value) {
  const kind = FIELD_KINDS[field];
  if (kind === undefined) return { ok: false, error: `"${field}" cannot be filtered on` };
  if (value === '') return { ok: false, error: `${field}: a value is missing` };
  switch (kind) {
    case 'addr':
      return isAddressOrCidr(value)
        ? { ok: true, value: value.toLowerCase() }
        : { ok: false, error: `${field}: "${value}" is not an IPv4/IPv6 address or CIDR` };
    case 'port': {
      const v = uintText(value, 65535);
      return v !== null ? { ok: true, value: v }
        : { ok: false, error: `${field}: "${value}" is not a port 0..65535` };
    }
    case 'proto': {
      const lower = value.toLowerCase();
      if (PROTOCOL_NAMES.includes(lower)) return { ok: true, value: lower };
      const v = uintText(value, 255);
      return v !== null ? { ok: true, value: v }
        : { ok: false, error: `protocol: "${value}" is not 0..255 or one of ${PROTOCOL_NAMES.join(', ')}` };
    }
    default: {
      const v = uintText(value, 4294967295);
      return v !== null ? { ok: true, value: v }
        : { ok: false, error: `${field}: "${value}" is not a number 0..4294967295` };
    }
  }
}

/**
 * Parses what the user typed into one API filter string.
 * @param {string} input
 * @returns {{ok: true, filter: string} | {ok: false, error: string}}
 */
export function parseFilterInput(input) {
  const text = String(input ?? '').trim();
  if (text === '') return { ok: false, error: 'Type an IP, CIDR, port, protocol, or e.g. "exporter 10.1.1.1"' };
  if (text.length > 200) return { ok: false, error: 'That filter is too long' };
  let field = null;
  let value = null;
  const eq = text.match(/^([A-Za-z_]+)\s*(?:=|:(?=\s))\s*(\S+)$/);
  const sp = text.match(/^([A-Za-z_]+)\s+(\S+)$/);
  if (eq || sp) {
    const m = /** @type {RegExpMatchArray} */ (eq || sp);
    const word = m[1].toLowerCase();
    field = KEYWORDS[word];
    if (field === undefined) return { ok: false, error: `Unknown field "${m[1]}" (src, dst, port, sport, dport, proto, exporter, in_if, out_if, src_as, dst_as)` };
    value = m[2];
  } else if (/\s/.test(text)) {
    return { ok: false, error: `"${text}" is not one filter` };
  } else if (/^[0-9]+$/.test(text)) {
    field = 'dst_port';
    value = text;
  } else if (PROTOCOL_NAMES.includes(text.toLowerCase())) {
    field = 'protocol';
    value = text;
  } else if (isAddressOrCidr(text)) {
    field = 'src_ip';
    value = text;
  } else {
    return { ok: false, error: `"${text}" is not an IP, CIDR, port or protocol` };
  }
  const checked = checkValue(field, value);
  if (!checked.ok) return checked;
  return { ok: true, filter: `${field}=${checked.value}` };
}

/**
 * Checks an API filter string as found in a URL ("field=value", canonical or not).
 * @param {string} filter
 * @returns {string|null} the canonical filter, or null when it is not one
 */
export function normalizeFilter(filter) {
  const m = String(filter).match(/^([a-z_]+)=([^,=\s]+)$/);
  if (!m) return null;
  const field = API_NAMES[m[1]];
  if (field === undefined) return null;
  const checked = checkValue(field, m[2]);
  return checked.ok ? `${field}=${checked.value}` : null;
}

/**
 * Adds a filter to a list unless it is there already or the list is full.
 * @param {string[]} list
 * @param {string} filter canonical API filter
 * @returns {string[]} a new list
 */
export function addFilter(list, filter) {
  if (list.includes(filter) || list.length >= MAX_FILTERS) return list.slice();
  return [...list, filter];
}
