// openapi_check.mjs DOC [BASE_URL TOKEN [USERNAME PASSWORD]] — checks serviceradar-core's
// OpenAPI document (docs/openapi.json), and with a base URL that it is true to the running
// server:
//   1. DOC is a valid OpenAPI document and every $ref resolves (@apidevtools/swagger-parser).
//   2. GET /api/openapi.json serves exactly DOC's bytes, as application/json.
//   3. The document's enums and limits (group_by, filter fields and their value kinds,
//      protocol names, metric, time_range, format, limit, the filter count) equal the lists
//      of GET /api/netflow/fields, on each of the three /api/netflow routes, so neither can
//      drift; every documented group_by, metric and format value is accepted by the server.
//   4. Real requests (top-N, series, CSV, 400s, 401s, login, refresh, fields, status, every
//      documented path) are themselves valid for the document (parameter names and values),
//      and their answers are documented: the status code for that operation, the content
//      type, required headers, and the JSON body valid against the response schema (ajv).
// TOKEN is an access token (Authorization: Bearer); USERNAME and PASSWORD, when given, are a
// local user's, for the login and refresh checks; the environment variable
// OPENAPI_CHECK_API_KEY, when set, an API key to check X-API-Key with. Prints every mismatch
// and exits 1 when there is one; 2 for bad usage or a server that cannot be reached.
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [docPath, baseUrl, token, username, password] = process.argv.slice(2);
if (!docPath || (baseUrl && !token)) {
  console.error('usage: openapi_check.mjs DOC [BASE_URL TOKEN [USERNAME PASSWORD]]');
  process.exit(2);
}

const failures = [];
let checked = 0;
function fail(msg) {
  failures.push(msg);
  console.error(`MISMATCH: ${msg}`);
}
function same(what, docValue, serverValue) {
  const a = JSON.stringify(docValue), b = JSON.stringify(serverValue);
  if (a !== b) fail(`${what}: document says ${a}, server says ${b}`);
}

// ---- 1. the document ---------------------------------------------------------------------------
const docBytes = readFileSync(docPath);
let api;
try {
  // validate() checks the document against the OpenAPI 3.0 schema and resolves every $ref
  // (it returns the document dereferenced).
  api = await SwaggerParser.validate(JSON.parse(docBytes.toString('utf8')));
} catch (e) {
  console.error(`FAIL: ${docPath} is not a valid OpenAPI document: ${e.message}`);
  process.exit(1);
}
if (api.openapi !== '3.0.3') fail(`openapi version ${api.openapi}, expected 3.0.3`);
console.log(`${docPath}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths`);

// OpenAPI 3.0 schemas are JSON Schema with a few extra words: nullable (ajv knows it),
// example and description (annotations), the x- extensions, and the formats int64 and
// password, which JSON has no check for.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
addFormats(ajv);
ajv.addFormat('int64', true);
ajv.addFormat('password', true);
ajv.addVocabulary(['example', 'x-aliases', 'x-value-types']);
const compiled = new WeakMap();
function validate(schema, value, what) {
  let v = compiled.get(schema);
  if (!v) {
    try {
      v = ajv.compile(schema);
    } catch (e) {
      fail(`${what}: the schema does not compile: ${e.message}`);
      return;
    }
    compiled.set(schema, v);
  }
  checked++;
  if (!v(value))
    fail(`${what}: ${ajv.errorsText(v.errors, { dataVar: 'answer' })}; value ${JSON.stringify(value).slice(0, 300)}`);
}

// The documented netflow routes and their parameters (schemas dereferenced).
const NETFLOW = ['/api/netflow', '/api/netflow/realtime', '/api/netflow/historical'];
function param(path, name) {
  return (api.paths[path].get.parameters || []).find((p) => p.name === name);
}
// Static consistency inside the document: the routes share their parameters, time travel is
// on the routes that offer it only, group_by is required.
for (const path of NETFLOW) {
  if (!api.paths[path]?.get) {
    fail(`${path}: no GET operation`);
    continue;
  }
  const names = (api.paths[path].get.parameters || []).map((p) => p.name);
  const want = ['time_range', 'start', 'end', 'group_by', 'interval', 'filter', 'metric',
    'unscaled', 'limit', 'format'].concat(path.endsWith('/realtime') ? [] : ['snapshot', 'as_of']);
  same(`${path} parameters`, names, want);
  if (!param(path, 'group_by')?.required) fail(`${path}: group_by is not required`);
}
if (!baseUrl) {
  finish();
}

// ---- HTTP ------------------------------------------------------------------------------------
async function call(method, path, { query = [], headers = {}, body } = {}) {
  const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const url = `${baseUrl}${path}${qs ? `?${qs}` : ''}`;
  let res;
  try {
    res = await fetch(url, { method, headers, body });
  } catch (e) {
    console.error(`FAIL: ${method} ${url}: ${e.message}`);
    process.exit(2);
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: bytes.toString('utf8') };
}
const AUTH = { Authorization: `Bearer ${token}` };

// A request's query parameters must be documented for the operation and valid for their
// schema (query strings are text: integers and booleans are converted as a client would
// write them; repeated names form the array of an exploded array parameter).
function checkRequest(path, query, what) {
  const op = api.paths[path]?.get;
  const byName = new Map();
  for (const [k, v] of query) byName.set(k, [...(byName.get(k) || []), v]);
  for (const [name, values] of byName) {
    const p = (op?.parameters || []).find((x) => x.name === name && x.in === 'query');
    if (!p) {
      fail(`${what}: parameter ${name} is not documented for GET ${path}`);
      continue;
    }
    const s = p.schema;
    const conv = (v, t) => (t === 'integer' && /^-?[0-9]+$/.test(v) ? Number(v)
      : t === 'boolean' && (v === 'true' || v === 'false') ? v === 'true' : v);
    const value = s.type === 'array' ? values.map((v) => conv(v, s.items.type))
      : values.length === 1 ? conv(values[0], s.type) : values;
    validate(s, value, `${what}: parameter ${name}`);
  }
  for (const p of op?.parameters || [])
    if (p.required && !byName.has(p.name)) fail(`${what}: required parameter ${p.name} not sent`);
}

// The answer must be documented: status code, content type, required headers, body schema.
// Returns the parsed JSON body (or undefined).
function checkAnswer(method, path, res, what) {
  const op = api.paths[path]?.[method.toLowerCase()];
  if (!op) {
    fail(`${what}: ${method} ${path} is not in the document`);
    return undefined;
  }
  const resp = op.responses[String(res.status)] || op.responses.default;
  if (!resp) {
    fail(`${what}: HTTP ${res.status} is not documented for ${method} ${path}: ${res.text.slice(0, 200)}`);
    return undefined;
  }
  const ct = (res.headers.get('content-type') || '').split(';')[0].trim().toLowerCase();
  const media = resp.content?.[ct];
  if (!media) {
    fail(`${what}: content type '${ct}' is not documented for ${method} ${path} ${res.status} (documented: ${Object.keys(resp.content || {}).join(', ')})`);
    return undefined;
  }
  for (const [name, h] of Object.entries(resp.headers || {})) {
    const v = res.headers.get(name);
    if (v === null) {
      if (h.required) fail(`${what}: required header ${name} missing (${method} ${path} ${res.status})`);
      continue;
    }
    if (h.schema) validate(h.schema, h.schema.type === 'integer' && /^[0-9]+$/.test(v) ? Number(v) : v,
      `${what}: header ${name}`);
  }
  if (ct !== 'application/json') {
    if (media.schema) validate(media.schema, res.text, `${what}: body`);
    return undefined;
  }
  let body;
  try {
    body = JSON.parse(res.text);
  } catch (e) {
    fail(`${what}: body is not JSON: ${e.message}`);
    return undefined;
  }
  if (media.schema) validate(media.schema, body, `${what}: body`);
  return body;
}

// GET path with query: checks the request and the answer; want (optional) the status.
async function get(path, query, what, { headers = AUTH, want } = {}) {
  checkRequest(path, query, what);
  const res = await call('GET', path, { query, headers });
  if (want !== undefined && res.status !== want)
    fail(`${what}: HTTP ${res.status}, expected ${want}: ${res.text.slice(0, 200)}`);
  res.json = checkAnswer('GET', path, res, what);
  return res;
}

// ---- 2. the served document --------------------------------------------------------------------
{
  const res = await get('/api/openapi.json', [], 'openapi.json', { headers: {}, want: 200 });
  if (!res.bytes.equals(docBytes))
    fail(`GET /api/openapi.json (${res.bytes.length} bytes) differs from ${docPath} (${docBytes.length} bytes): rebuild the core`);
}

// ---- 3. enums and limits against /api/netflow/fields -----------------------------------------
const fieldsRes = await get('/api/netflow/fields', [], 'fields', { want: 200 });
const fields = fieldsRes.json;
if (!fields) {
  fail('no /api/netflow/fields answer to compare with');
  finish();
}
{
  const S = api.components.schemas;
  for (const path of NETFLOW) {
    const gb = param(path, 'group_by').schema;
    const aliases = gb['x-aliases'] || {};
    same(`${path} group_by (without aliases)`, gb.enum.filter((v) => !(v in aliases)), fields.group_by);
    for (const [alias, name] of Object.entries(aliases))
      if (!gb.enum.includes(alias) || !gb.enum.includes(name)) fail(`${path} group_by: alias ${alias} → ${name} not in the enum`);
    const f = param(path, 'filter').schema;
    same(`${path} filter maxItems`, f.maxItems, fields.max_filters);
    const re = new RegExp(f.items.pattern);
    for (const name of fields.filter.map((x) => x.field).concat(Object.keys(aliases)))
      if (!re.test(`${name}=1`)) fail(`${path} filter pattern refuses the field ${name}`);
    for (const bad of ['time=1', 'nosuch=1', 'dst_port=1,,dst_port=2', 'dst_port'])
      if (re.test(bad)) fail(`${path} filter pattern accepts '${bad}', which the server refuses`);
    same(`${path} metric`, param(path, 'metric').schema.enum, fields.metrics);
    same(`${path} time_range`, param(path, 'time_range').schema.enum, fields.time_ranges);
    same(`${path} format`, param(path, 'format').schema.enum, fields.formats);
    const l = param(path, 'limit').schema;
    same(`${path} limit`, { min: l.minimum, max: l.maximum, default: l.default }, fields.limit);
  }
  same('FilterField enum', S.FilterField.enum, fields.filter.map((x) => x.field));
  same('FilterField x-value-types', fields.filter.map((x) => S.FilterField['x-value-types'][x.field]),
    fields.filter.map((x) => x.type));
  same('ProtocolName enum', S.ProtocolName.enum, fields.filter.find((x) => x.field === 'protocol')?.names);
  same('NetflowAnswer group_by', S.NetflowAnswer.properties.group_by.enum, fields.group_by);
  same('NetflowAnswer metric', S.NetflowAnswer.properties.metric.enum, fields.metrics);
  const rowProps = Object.keys(S.ResultRow.properties);
  for (const k of fields.group_by.filter((g) => g !== 'time').concat(fields.metrics))
    if (!rowProps.includes(k)) fail(`ResultRow has no property ${k}`);
}

// ---- 4. real requests ------------------------------------------------------------------------
const RT = '/api/netflow/realtime';
const recent = [['time_range', 'last_15m']];
// Every documented group_by (aliases too), metric and format is accepted and answered as
// documented.
for (const g of param(RT, 'group_by').schema.enum) {
  const q = recent.concat([['group_by', g]], g === 'time' ? [] : [['limit', '5']]);
  const res = await get(RT, q, `group_by=${g}`, { want: 200 });
  const canon = param(RT, 'group_by').schema['x-aliases']?.[g] || g;
  if (res.json && res.json.group_by !== canon) fail(`group_by=${g}: answer says group_by ${res.json.group_by}, expected ${canon}`);
}
for (const m of param(RT, 'metric').schema.enum)
  await get(RT, recent.concat([['group_by', 'protocol'], ['metric', m]]), `metric=${m}`, { want: 200 });
// recent flows: JSON and CSV as documented, the limit's bounds, and what the route refuses
{
  const F = '/api/netflow/flows';
  const res = await get(F, recent.concat([['limit', '20']]), 'flows', { want: 200 });
  if (res.json && res.json.results.length > 20) fail(`flows: ${res.json.results.length} rows for limit 20`);
  await get(F, recent.concat([['format', 'csv'], ['filter', 'protocol=tcp']]), 'flows csv', { want: 200 });
  for (const [name, bad] of [['limit', '1001'], ['group_by', 'src_ip']]) {
    const r = await call('GET', F, { query: [[name, bad]], headers: AUTH });
    if (r.status !== 400) fail(`flows ${name}=${bad}: HTTP ${r.status}, expected 400`);
    const body = checkAnswer('GET', F, r, `flows ${name}=${bad}`);
    if (body && body.error.parameter !== name) fail(`flows ${name}=${bad}: error.parameter ${body.error.parameter}`);
  }
}
// a value outside an enum is refused, naming the parameter
for (const [name, bad] of [['group_by', 'bogus'], ['metric', 'bits'], ['time_range', 'last_2y'], ['format', 'xml']]) {
  const q = [['group_by', 'protocol']].filter(([k]) => k !== name).concat([[name, bad]]);
  const res = await call('GET', RT, { query: q, headers: AUTH });
  if (res.status !== 400) fail(`${name}=${bad}: HTTP ${res.status}, expected 400`);
  const body = checkAnswer('GET', RT, res, `${name}=${bad}`);
  if (body && body.error.parameter !== name) fail(`${name}=${bad}: error.parameter ${body.error.parameter}`);
}
// limits: the documented maximum is accepted, one more refused
{
  const l = param(RT, 'limit').schema;
  await get(RT, recent.concat([['group_by', 'dst_port'], ['limit', String(l.maximum)]]), 'limit=max', { want: 200 });
  const res = await call('GET', RT, { query: recent.concat([['group_by', 'dst_port'], ['limit', String(l.maximum + 1)]]), headers: AUTH });
  const body = checkAnswer('GET', RT, res, 'limit=max+1');
  if (res.status !== 400 || body?.error.parameter !== 'limit') fail(`limit=${l.maximum + 1}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
  const f = param(RT, 'filter').schema.maxItems;
  const many = Array.from({ length: f + 1 }, (_, i) => ['filter', `dst_port=${i + 1}`]);
  const res2 = await call('GET', RT, { query: recent.concat([['group_by', 'protocol']], many), headers: AUTH });
  const body2 = checkAnswer('GET', RT, res2, 'filters > maxItems');
  if (res2.status !== 400 || body2?.error.parameter !== 'filter') fail(`${f + 1} filters: HTTP ${res2.status} ${res2.text.slice(0, 200)}`);
  await get(RT, recent.concat([['group_by', 'protocol']], many.slice(0, f)), 'filters = maxItems', { want: 200 });
}
// top-N with filters, a series, absolute times
const topn = await get(RT, [['time_range', 'last_1h'], ['group_by', 'src_ip'], ['limit', '20'],
  ['filter', 'protocol=tcp,dst_port=443'], ['filter', 'src_ip=0.0.0.0/0'], ['metric', 'packets'], ['unscaled', 'true']],
  'top-N', { want: 200 });
if (topn.json && topn.json.results.length === 0) fail('top-N: no rows (the test data should have some)');
const now = Math.floor(Date.now() / 1000);
const series = await get(RT, [['start', new Date((now - 3600) * 1000).toISOString()], ['end', String(now)],
  ['group_by', 'time'], ['interval', '5m']], 'series', { want: 200 });
if (series.json && (series.json.results.length === 0 || series.json.interval !== 300)) fail(`series: ${series.text.slice(0, 200)}`);
// CSV: text/csv with Content-Disposition, the JSON answer's columns
{
  const q = [['time_range', 'last_1h'], ['group_by', 'dst_port'], ['limit', '10'], ['format', 'csv']];
  const res = await get(RT, q, 'csv', { want: 200 });
  const ct = res.headers.get('content-type') || '';
  if (!ct.startsWith('text/csv')) fail(`csv: content type ${ct}`);
  const cd = res.headers.get('content-disposition') || '';
  if (!/^attachment; filename="netflow\.csv"$/.test(cd)) fail(`csv: Content-Disposition '${cd}'`);
  const lines = res.text.split('\r\n');
  if (lines[0] !== 'dst_port,bytes' || lines.length < 3) fail(`csv: ${JSON.stringify(res.text.slice(0, 200))}`);
}
// the auto route: a short recent range (ClickHouse), a long one (stitched when the cold tier
// has a table: then "boundary" is present); the historical route: 200 with the snapshot read
// when there is a table (then time travel to it works), 404 without one — both documented;
// an unknown snapshot is a 404 naming the parameter
{
  const auto = await get('/api/netflow', [['time_range', 'last_15m'], ['group_by', 'dst_port']], 'auto', { want: 200 });
  if (auto.json && auto.json.backend !== 'clickhouse') fail(`auto: backend ${auto.json.backend}`);
  const long = await get('/api/netflow', [['time_range', 'last_6h'], ['group_by', 'time']], 'auto, long range');
  if (long.json && (long.json.backend === 'both') !== ('boundary' in long.json))
    fail(`auto, long range: backend ${long.json.backend} with boundary ${long.json.boundary}`);
  const hist = await get('/api/netflow/historical', [['time_range', 'last_1h'], ['group_by', 'protocol']], 'historical');
  if (hist.status !== 200 && hist.status !== 404) fail(`historical: HTTP ${hist.status}`);
  let unknown = '12345';
  if (hist.status === 200 && hist.json) {
    // ids are random 63-bit numbers: taken as text, as JSON.parse would round them
    const text = /"snapshot_id":([0-9]+)/.exec(hist.text)?.[1];
    if (!text) fail(`historical: no snapshot_id in ${hist.text.slice(0, 300)}`);
    else {
      const tt = await get('/api/netflow/historical', [['time_range', 'last_1h'], ['group_by', 'protocol'],
        ['snapshot', text]], 'snapshot', { want: 200 });
      if (tt.json) same('snapshot: results equal the current ones', tt.json.results, hist.json.results);
      await get('/api/netflow', [['time_range', 'last_1h'], ['group_by', 'protocol'],
        ['as_of', new Date().toISOString()]], 'as_of on auto', { want: 200 });
      unknown = text === '12345' ? '12346' : '12345';
    }
  }
  const u = await get('/api/netflow/historical', [['time_range', 'last_1h'], ['group_by', 'protocol'],
    ['snapshot', unknown]], 'unknown snapshot', { want: 404 });
  if (u.json && hist.status === 200 && u.json.error.parameter !== 'snapshot') fail(`unknown snapshot: ${u.text}`);
  await get('/api/netflow/historical', [['group_by', 'protocol'], ['snapshot', '1'], ['as_of', '1700000000']],
    'snapshot and as_of', { want: 400 });
  // time travel is not a realtime parameter: the document leaves it out and the server refuses it
  const res = await call('GET', RT, { query: [['group_by', 'protocol'], ['snapshot', '5']], headers: AUTH });
  if (res.status !== 400) fail(`snapshot on realtime: HTTP ${res.status}`);
  checkAnswer('GET', RT, res, 'snapshot on realtime');
}
// an API key (OPENAPI_CHECK_API_KEY, when set) is the other documented credential
if (process.env.OPENAPI_CHECK_API_KEY) {
  await get('/api/netflow/fields', [], 'API key', { headers: { 'X-API-Key': process.env.OPENAPI_CHECK_API_KEY }, want: 200 });
  await get(RT, recent.concat([['group_by', 'exporter']]), 'API key top-N',
    { headers: { 'X-API-Key': process.env.OPENAPI_CHECK_API_KEY }, want: 200 });
}
// 401s: no credentials, a bad token, a bad API key (with WWW-Authenticate, documented)
for (const [what, headers] of [['no token', {}], ['bad token', { Authorization: 'Bearer abc.def.ghi' }],
  ['bad API key', { 'X-API-Key': 'nope' }]]) {
  for (const path of NETFLOW.concat(['/api/netflow/fields', '/api/netflow/status']))
    await get(path, NETFLOW.includes(path) ? [['group_by', 'protocol']] : [], `${what} ${path}`,
      { headers, want: 401 });
}
// public routes
{
  await get('/healthz', [], 'healthz', { headers: {}, want: 200 });
  const m = await get('/metrics', [], 'metrics', { headers: {}, want: 200 });
  if (!/^serviceradar_core_http_requests_total\{/m.test(m.text)) fail('metrics: no serviceradar_core_http_requests_total sample');
}
// status: the hops and tiers
await get('/api/netflow/status', [], 'status', { want: 200 });
// login and refresh
if (username) {
  const post = (path, body) => call('POST', path, { headers: { 'Content-Type': 'application/json' }, body });
  let res = await post('/auth/login', JSON.stringify({ username, password: `${password}-wrong` }));
  if (res.status !== 401) fail(`login with a wrong password: HTTP ${res.status}`);
  checkAnswer('POST', '/auth/login', res, 'login wrong password');
  res = await post('/auth/login', JSON.stringify({ username }));
  const b400 = checkAnswer('POST', '/auth/login', res, 'login without password');
  if (res.status !== 400 || b400?.error.parameter !== 'password') fail(`login without password: HTTP ${res.status} ${res.text}`);
  res = await post('/auth/login', 'a'.repeat(70000));
  if (res.status !== 413) fail(`login with a 70 000-byte body: HTTP ${res.status}`);
  checkAnswer('POST', '/auth/login', res, 'login too large');
  res = await post('/auth/login', JSON.stringify({ username, password }));
  if (res.status !== 200) fail(`login: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
  const login = checkAnswer('POST', '/auth/login', res, 'login');
  if (res.headers.get('cache-control') !== 'no-store') fail(`login: Cache-Control ${res.headers.get('cache-control')}`);
  if (login) {
    res = await post('/auth/refresh', JSON.stringify({ refresh_token: login.refresh_token }));
    if (res.status !== 200) fail(`refresh: HTTP ${res.status}: ${res.text.slice(0, 200)}`);
    const rf = checkAnswer('POST', '/auth/refresh', res, 'refresh');
    res = await post('/auth/refresh', JSON.stringify({ refresh_token: login.access_token }));
    if (res.status !== 401) fail(`refresh with an access token: HTTP ${res.status}`);
    checkAnswer('POST', '/auth/refresh', res, 'refresh with an access token');
    res = await post('/auth/refresh', '[]');
    if (res.status !== 400) fail(`refresh with a non-object body: HTTP ${res.status}`);
    checkAnswer('POST', '/auth/refresh', res, 'refresh bad body');
    if (rf) await get('/api/netflow/fields', [], 'refreshed token', { headers: { Authorization: `Bearer ${rf.access_token}` }, want: 200 });
  }
  // wrong passwords until the limiter refuses: 429 with Retry-After (documented); last, as
  // it blocks this user's logins for the window
  let tries = 0;
  do {
    res = await post('/auth/login', JSON.stringify({ username, password: `${password}-wrong` }));
    checkAnswer('POST', '/auth/login', res, `login failure ${++tries}`);
  } while (res.status === 401 && tries < 20);
  if (res.status !== 429) fail(`login: no 429 after ${tries} wrong passwords (HTTP ${res.status})`);
}
// every documented operation answers with a documented status (401 for the secured ones
// without credentials; the public ones as they are)
for (const [path, ops] of Object.entries(api.paths)) {
  for (const method of Object.keys(ops)) {
    const M = method.toUpperCase();
    const res = await call(M, path, M === 'POST' ? { headers: { 'Content-Type': 'application/json' }, body: '{}' } : {});
    const body = checkAnswer(M, path, res, `bare ${M} ${path}`);
    if (res.status === 404 && body?.error?.message === 'no such route') fail(`${M} ${path}: the server has no such route`);
    const secured = (ops[method].security ?? api.security).length > 0;
    if (secured && res.status !== 401) fail(`${M} ${path} without credentials: HTTP ${res.status}, the document says it needs them`);
    if (!secured && res.status === 401) fail(`${M} ${path}: 401, the document says it is public`);
  }
}
finish();

function finish() {
  if (failures.length > 0) {
    console.error(`FAIL: ${failures.length} mismatch(es) between ${docPath} and ${baseUrl || 'the OpenAPI schema'}`);
    process.exit(1);
  }
  console.log(`PASS openapi_check: ${checked} schema checks${baseUrl ? ` against ${baseUrl}` : ''}`);
  process.exit(0);
}
