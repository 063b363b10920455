// state.test.mjs — view state ⇄ URL query string: round trips, defaults, bad links.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseState, toQuery, defaultState, histRangeParams, isDay, customRangeError } from '../src/state.js';

test('default state round trips to a short URL', () => {
  const d = defaultState();
  assert.equal(toQuery(d), 'view=realtime');
  assert.deepEqual(parseState('?' + toQuery(d)), d);
  assert.deepEqual(parseState(''), d);
});

test('every member survives a round trip', () => {
  const s = {
    ...defaultState(), view: 'historical', range: 'last_24h',
    filters: ['src_ip=10.0.0.0/8', 'dst_port=443', 'protocol=tcp', 'src_ip=2001:db8::/32'],
    stack: 'src_ip', auto: false, hrange: 'custom', hstart: '2026-10-01', hend: '2026-10-31',
    gran: 'month', top: 'dst_port',
  };
  const q = toQuery(/** @type {any} */ (s));
  assert.deepEqual(parseState(q), s);
  assert.deepEqual(parseState('?' + q), s);
  assert.equal(toQuery(parseState(q)), q, 'stable');
});

test('a round trip for every preset and view', () => {
  for (const view of ['realtime', 'historical', 'health']) {
    for (const range of ['last_15m', 'last_1h', 'last_24h', 'today']) {
      for (const hrange of ['last_7d', 'last_30d', 'last_90d']) {
        const s = { ...defaultState(), view, range, hrange };
        assert.deepEqual(parseState(toQuery(/** @type {any} */ (s))), s);
      }
    }
  }
});

test('filters are URL-encoded and repeat', () => {
  const q = toQuery({ ...defaultState(), filters: ['src_ip=10.0.0.0/8', 'dst_port=443'] });
  assert.equal(q, 'view=realtime&filter=src_ip%3D10.0.0.0%2F8&filter=dst_port%3D443');
});

test('bad values fall back to defaults', () => {
  const s = parseState('?view=nope&range=last_99y&stack=x&gran=year&top=bytes&hrange=last_1y&auto=maybe');
  assert.deepEqual(s, defaultState());
});

test('bad filters are dropped, duplicates once, aliases canonical', () => {
  const s = parseState('?filter=src_ip%3D10.0.0.0%2F8&filter=bogus%3D1&filter=dst_port%3D99999&filter=src_addr%3D10.0.0.0%2F8&filter=protocol%3DTCP');
  assert.deepEqual(s.filters, ['src_ip=10.0.0.0/8', 'protocol=tcp']);
});

test('at most 16 filters from a URL', () => {
  const q = Array.from({ length: 20 }, (_, i) => `filter=in_if%3D${i}`).join('&');
  assert.equal(parseState(q).filters.length, 16);
});

test('custom range needs two real days in order', () => {
  assert.equal(parseState('?hrange=custom&hstart=2026-02-30&hend=2026-03-01').hrange, 'last_7d');
  assert.equal(parseState('?hrange=custom&hstart=2026-03-02&hend=2026-03-01').hrange, 'last_7d');
  assert.equal(parseState('?hrange=custom&hstart=2026-03-01').hrange, 'last_7d');
  const ok = parseState('?hrange=custom&hstart=2026-03-01&hend=2026-03-01');
  assert.equal(ok.hrange, 'custom');
  assert.equal(ok.hstart, '2026-03-01');
  assert.equal(parseState('?hstart=2026-03-01&hend=2026-03-02').hstart, '', 'ignored unless custom');
});

test('isDay', () => {
  assert.equal(isDay('2024-02-29'), true);
  assert.equal(isDay('2023-02-29'), false);
  assert.equal(isDay('2023-13-01'), false);
  assert.equal(isDay('2023-1-01'), false);
});

test('histRangeParams: preset → time_range, custom → whole UTC days, end day included', () => {
  assert.deepEqual(histRangeParams({ ...defaultState(), hrange: 'last_30d' }), { time_range: 'last_30d' });
  assert.deepEqual(histRangeParams({ ...defaultState(), hrange: 'custom', hstart: '2026-01-31', hend: '2026-02-28' }),
    { start: '2026-01-31T00:00:00Z', end: '2026-03-01T00:00:00Z' });
  assert.deepEqual(histRangeParams({ ...defaultState(), hrange: 'custom', hstart: '2026-12-31', hend: '2026-12-31' }),
    { start: '2026-12-31T00:00:00Z', end: '2027-01-01T00:00:00Z' });
});

test('customRangeError: real days, in order, at most 1000 days', () => {
  assert.equal(customRangeError('2026-01-01', '2026-01-01'), null);
  assert.equal(customRangeError('2024-03-01', '2026-11-25'), null, '1000 days');
  assert.match(String(customRangeError('2024-03-01', '2026-11-26')), /At most 1000 days \(this range has 1001\)/);
  assert.match(String(customRangeError('2026-01-02', '2026-01-01')), /after/);
  assert.match(String(customRangeError('', '2026-01-01')), /Pick/);
  assert.equal(parseState('?hrange=custom&hstart=2000-01-01&hend=2026-11-27').hrange, 'last_7d');
});
