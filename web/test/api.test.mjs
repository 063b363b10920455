// api.test.mjs — the API client with a fake fetch: error mapping (4xx message + parameter,
// network/5xx → "not reachable", 401 → one refresh then login), the session, big numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createApi, ApiError, buildQuery, errorFromAnswer, describeError, SESSION_KEY } from '../src/api.js';
import { parseJsonExact } from '../src/json.js';

/** A Map-backed sessionStorage. */
function memStore() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), m };
}

/** A Response-like object. */
function answer(status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300, status,
    headers: { get: (k) => headers[k.toLowerCase()] ?? null },
    text: async () => text, blob: async () => new Blob([text]),
  };
}

/** A fake fetch answering from a list of handlers, recording calls. */
function fakeFetch(handler) {
  const calls = [];
  const fn = async (url, init = {}) => {
    calls.push({ url, init });
    return handler(url, init, calls.length);
  };
  return { fn, calls };
}

const LOGIN = { access_token: 'A1', refresh_token: 'R1', expires_at: '2026-11-28T13:00:00Z', token_type: 'Bearer' };

test('buildQuery repeats arrays and skips empty values', () => {
  assert.equal(buildQuery({}), '');
  assert.equal(buildQuery({ a: 'x y', f: ['src_ip=10.0.0.0/8', 'dst_port=1'], n: 5, e: '', u: undefined, z: null }),
    '?a=x+y&f=src_ip%3D10.0.0.0%2F8&f=dst_port%3D1&n=5');
});

test('errorFromAnswer: the API message and parameter', () => {
  const e = errorFromAnswer(400, JSON.stringify({ error: { message: "parameter 'group_by': unknown field \"x\"", parameter: 'group_by' } }));
  assert.equal(e.kind, 'client');
  assert.equal(e.status, 400);
  assert.equal(e.parameter, 'group_by');
  assert.equal(e.message, "parameter 'group_by': unknown field \"x\" (parameter: group_by)");
  assert.equal(e.unreachable, false);
});

test('errorFromAnswer: 5xx and non-JSON bodies', () => {
  const e = errorFromAnswer(503, JSON.stringify({ error: { message: 'cold tier unavailable', parameter: null } }));
  assert.equal(e.kind, 'server');
  assert.equal(e.unreachable, true);
  assert.equal(e.message, 'The API is not reachable (HTTP 503: cold tier unavailable)');
  assert.equal(errorFromAnswer(502, '<html>Bad gateway</html>').message, 'The API is not reachable (HTTP 502)');
  assert.equal(errorFromAnswer(418, 'nope').message, 'The request was refused (HTTP 418)');
  assert.equal(errorFromAnswer(404, '{"error":{"message":"no such route","parameter":null}}').kind, 'notfound');
});

test('describeError of anything', () => {
  assert.equal(describeError(new ApiError('client', 'bad')), 'bad');
  assert.equal(describeError(new Error('boom')), 'Unexpected error: boom');
  assert.equal(describeError('x'), 'Unexpected error: x');
});

test('login stores the session; get sends the bearer token and parses big numbers exactly', async () => {
  const store = memStore();
  const f = fakeFetch((url, init) => {
    if (url === '/auth/login') {
      assert.equal(init.method, 'POST');
      assert.deepEqual(JSON.parse(init.body), { username: 'admin', password: 'pw' });
      return answer(200, LOGIN);
    }
    assert.equal(init.headers.Authorization, 'Bearer A1');
    return answer(200, '{"results":[{"protocol":6,"bytes":18446744073709551615}],"backend":"clickhouse","elapsed_ms":3}');
  });
  const api = createApi({ fetchFn: f.fn, storage: store });
  await api.login('admin', 'pw');
  assert.equal(api.session().access_token, 'A1');
  const a = await api.get('/api/netflow', { group_by: 'protocol', filter: ['dst_port=443'] });
  assert.equal(f.calls[1].url, '/api/netflow?group_by=protocol&filter=dst_port%3D443');
  assert.equal(a.results[0].bytes, '18446744073709551615');
  assert.equal(a.results[0].protocol, 6);
  api.logout();
  assert.equal(store.getItem(SESSION_KEY), null);
});

test('login errors: wrong password, rate limited, auth disabled, API down', async () => {
  const store = memStore();
  let status = 401;
  const f = fakeFetch(() => (status === 0 ? Promise.reject(new TypeError('Failed to fetch'))
    : answer(status, { error: { message: status === 429 ? 'too many failed logins' : status === 404 ? 'no such route' : 'bad credentials', parameter: null } })));
  const api = createApi({ fetchFn: f.fn, storage: store });
  await assert.rejects(api.login('a', 'b'), (e) => e instanceof ApiError && e.message === 'Wrong user name or password');
  assert.equal(api.session(), null);
  status = 429;
  await assert.rejects(api.login('a', 'b'), (e) => e.message === 'Too many failed logins: too many failed logins');
  status = 0;
  await assert.rejects(api.login('a', 'b'), (e) => e.kind === 'network' && e.message === 'The API is not reachable (Failed to fetch)');
  status = 404;
  const s = await api.login('a', 'b');
  assert.equal(s.noauth, true);
  assert.equal(api.session().noauth, true);
});

test('401 → one refresh, then the request again with the new token', async () => {
  const store = memStore();
  store.setItem(SESSION_KEY, JSON.stringify({ access_token: 'OLD', refresh_token: 'R1', expires_at: null, username: 'u' }));
  const f = fakeFetch((url, init) => {
    if (url === '/auth/refresh') {
      assert.deepEqual(JSON.parse(init.body), { refresh_token: 'R1' });
      return answer(200, { access_token: 'NEW', expires_at: '2026-11-28T00:00:00Z', token_type: 'Bearer' });
    }
    return init.headers.Authorization === 'Bearer NEW' ? answer(200, { results: [] }) : answer(401, { error: { message: 'expired', parameter: null } });
  });
  let lost = 0;
  const api = createApi({ fetchFn: f.fn, storage: store, onAuthLost: () => lost++ });
  assert.deepEqual(await api.get('/api/netflow/status'), { results: [] });
  assert.deepEqual(f.calls.map((c) => c.url), ['/api/netflow/status', '/auth/refresh', '/api/netflow/status']);
  assert.equal(api.session().access_token, 'NEW');
  assert.equal(api.session().refresh_token, 'R1');
  assert.equal(lost, 0);
});

test('401 and a refused refresh → session removed, onAuthLost, no loop', async () => {
  const store = memStore();
  store.setItem(SESSION_KEY, JSON.stringify({ access_token: 'OLD', refresh_token: 'R1', expires_at: null, username: 'u' }));
  const f = fakeFetch(() => answer(401, { error: { message: 'invalid token', parameter: null } }));
  let lost = 0;
  const api = createApi({ fetchFn: f.fn, storage: store, onAuthLost: () => lost++ });
  await assert.rejects(api.get('/api/netflow'), (e) => e.kind === 'auth' && /log in again/.test(e.message));
  assert.equal(f.calls.length, 2, 'the request and one refresh');
  assert.equal(api.session(), null);
  assert.equal(lost, 1);
  await assert.rejects(api.get('/api/netflow'), (e) => e.kind === 'auth');
  assert.equal(f.calls.length, 2, 'no request without a session');
});

test('query errors are readable: 400 names the parameter, network and 5xx say unreachable', async () => {
  const store = memStore();
  store.setItem(SESSION_KEY, JSON.stringify({ access_token: 'A', refresh_token: 'R', expires_at: null, username: 'u' }));
  let mode = 400;
  const f = fakeFetch(() => {
    if (mode === 0) throw new TypeError('NetworkError when attempting to fetch resource.');
    if (mode === 400) return answer(400, { error: { message: "parameter 'start': before the hot tier's retention", parameter: 'start' } });
    if (mode === 500) return answer(500, { error: { message: 'ClickHouse: connection refused', parameter: null } });
    return answer(200, 'not json');
  });
  const api = createApi({ fetchFn: f.fn, storage: store });
  await assert.rejects(api.get('/api/netflow'), (e) => e.kind === 'client' && e.parameter === 'start' &&
    e.message === "parameter 'start': before the hot tier's retention (parameter: start)");
  mode = 0;
  await assert.rejects(api.get('/api/netflow'), (e) => e.unreachable && e.message === 'The API is not reachable (NetworkError when attempting to fetch resource.)');
  mode = 500;
  await assert.rejects(api.get('/api/netflow'), (e) => e.unreachable && e.message === 'The API is not reachable (HTTP 500: ClickHouse: connection refused)');
  mode = 200;
  await assert.rejects(api.get('/api/netflow'), (e) => e.kind === 'bad_answer');
  assert.notEqual(api.session(), null, 'errors other than 401 keep the session');
});

test('refreshIfDue refreshes only near expiry; concurrent refreshes share one request', async () => {
  const store = memStore();
  const now = Date.parse('2026-11-27T12:00:00Z');
  store.setItem(SESSION_KEY, JSON.stringify({ access_token: 'A', refresh_token: 'R', expires_at: '2026-11-27T13:00:00Z', username: 'u' }));
  const f = fakeFetch(async () => answer(200, { access_token: 'B', expires_at: '2026-11-28T12:00:00Z', token_type: 'Bearer' }));
  let clock = now;
  const api = createApi({ fetchFn: f.fn, storage: store, now: () => clock });
  await api.refreshIfDue();
  assert.equal(f.calls.length, 0, 'an hour left: nothing to do');
  clock = Date.parse('2026-11-27T12:58:00Z');
  await Promise.all([api.refreshIfDue(), api.refreshIfDue(), api.refresh()]);
  assert.equal(f.calls.length, 1);
  assert.equal(api.session().access_token, 'B');
  assert.equal(api.session().expires_at, '2026-11-28T12:00:00Z');
});

test('parseJsonExact: big integers as strings, everything else as JSON.parse', () => {
  assert.deepEqual(parseJsonExact('{"a":9007199254740991,"b":9007199254740993,"c":-9223372036854775808,"d":1.5e300,"e":"123456789012345678901"}'),
    { a: 9007199254740991, b: '9007199254740993', c: '-9223372036854775808', d: 1.5e300, e: '123456789012345678901' });
  assert.deepEqual(parseJsonExact('["x\\"18446744073709551615", 18446744073709551615, 0, -1, true, null]'),
    ['x"18446744073709551615', '18446744073709551615', 0, -1, true, null]);
  assert.deepEqual(parseJsonExact('{"k\\\\":1}'), { 'k\\': 1 });
  assert.throws(() => parseJsonExact('{'), SyntaxError);
});

test('probeNoAuth: 200 without credentials → a session without token; 401 → none', async () => {
  const store = memStore();
  let status = 401;
  const f = fakeFetch((url, init) => {
    assert.equal(url, '/api/netflow/fields');
    assert.equal(init.headers, undefined, 'no credentials sent');
    return answer(status, status === 200 ? { group_by: [] } : { error: { message: 'no', parameter: null } });
  });
  const api = createApi({ fetchFn: f.fn, storage: store });
  assert.equal(await api.probeNoAuth(), false);
  assert.equal(api.session(), null);
  status = 200;
  assert.equal(await api.probeNoAuth(), true);
  assert.equal(api.session().noauth, true);
  const g = fakeFetch((url, init) => {
    assert.equal(init.headers.Authorization, undefined, 'no Authorization header without a token');
    return answer(200, { results: [] });
  });
  const api2 = createApi({ fetchFn: g.fn, storage: store });
  assert.deepEqual(await api2.get('/api/netflow'), { results: [] });
});
