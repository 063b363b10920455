/**
 * json.js — JSON.parse that keeps big integers exact.
 *
 * The API writes counters as exact decimal integers up to 2^64 − 1 (docs/openapi.json, "Large
 * numbers"); JSON.parse would round those above 2^53. This parser first rewrites every integer
 * literal outside strings that is too big for a double to be exact into a JSON string holding
 * the same digits, then calls JSON.parse. So values are numbers when exact and decimal strings
 * otherwise; format.js and series.js accept both.
 */

/**
 * @param {string} text JSON text
 * @returns {unknown}
 * @throws {SyntaxError} when text is not JSON
 */
export function parseJsonExact(text) {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 /* \ */ ? 2 : 1;
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n && /[0-9eE.+-]/.test(text[i])) i++;
      const lit = text.slice(start, i);
      if (/^-?[0-9]{16,}$/.test(lit) && !Number.isSafeInteger(Number(lit))) {
        out += text.slice(last, start) + '"' + lit + '"';
        last = i;
      }
    } else {
      i++;
    }
  }
  out += text.slice(last);
  return JSON.parse(out);
}
