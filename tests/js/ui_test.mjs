// ui_test.mjs BASE USER PASSWORD ARTIFACTS_DIR CORE_PID — the web UI in headless chromium
// (Debian's, driven by playwright-core) against a running stack whose traffic has stopped, so
// every number is stable. Driven by tests/it/ui_browser.sh.
//
// What the UI shows is compared with what the API answers for the same question, through
// the data-testid contract of web/README.md: numeric elements carry the API's exact number in
// data-value, table rows carry data-key/data-value, charts carry data-series (JSON). The API
// is asked directly (node's fetch with a token of our own), never through the page.
//
// Checks: login (a wrong password shows an error, the right one opens the app); Real-Time
// cards, top talkers, protocols, top destination ports, recent flows = API; a filter typed in
// the bar and one added by clicking an address change the numbers to the API's filtered ones;
// the URL reproduces the view in a fresh page; removing the filters restores the totals;
// Historical trends and top-N = API, CSV downloads hold the rows shown; Pipeline health lists
// every hop up; with the core stopped, the page shows a readable error, not a blank page.
// Screenshots of every view go to ARTIFACTS_DIR. Exit 0 = pass; failures are listed.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, user, password, artifacts, corePid] = process.argv.slice(2);
if (!base || !user || !password || !artifacts) {
  console.error('usage: ui_test.mjs BASE USER PASSWORD ARTIFACTS_DIR [CORE_PID]');
  process.exit(2);
}
const failures = [];
const fail = (msg) => {
  failures.push(msg);
  console.error(`FAIL: ${msg}`);
};
const TIMEOUT = 20000;

// ---- the API, asked directly ------------------------------------------------------------------
async function login() {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password }),
  });
  if (res.status !== 200) throw new Error(`login: HTTP ${res.status}`);
  return (await res.json()).access_token;
}
const token = await login();
// params: an object, or [name, value] pairs (repeated names, e.g. several filters)
async function api(route, params) {
  const q = new URLSearchParams(params);
  const res = await fetch(`${base}${route}?${q}`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${route}?${q}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}
const metricOf = (row) => row.bytes ?? row.packets ?? row.flows;
const keyOf = (row, field) => String(row[field]);
async function total(route, params, metric) {
  const pairs = (Array.isArray(params) ? params : Object.entries(params))
    .concat([['group_by', 'protocol'], ['metric', metric], ['limit', '10000']]);
  const a = await api(route, pairs);
  return a.results.reduce((s, r) => s + BigInt(r[metric]), 0n);
}

// ---- the page ---------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const context = await browser.newContext({
  viewport: { width: 1366, height: 768 },
  acceptDownloads: true,
  colorScheme: 'dark',
});
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
const byId = (id, p = page) => p.getByTestId(id);
const shot = (name, p = page) => p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

// data-value of an element once it has one
async function valueOf(id, p = page) {
  const el = byId(id, p).first();
  await el.waitFor({ state: 'attached', timeout: TIMEOUT });
  await p.waitForFunction((i) => {
    const e = document.querySelector(`[data-testid="${i}"]`);
    return e && e.getAttribute('data-value') !== null && e.getAttribute('data-value') !== '';
  }, id, { timeout: TIMEOUT });
  return el.getAttribute('data-value');
}

// Polls until check() returns true (UI refreshes are asynchronous), then reports what differs.
async function eventually(what, check, describe) {
  const until = Date.now() + TIMEOUT;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      /* the element may be re-rendering */
    }
    if (Date.now() > until) {
      fail(`${what}: ${await describe()}`);
      return false;
    }
    await page.waitForTimeout(250);
  }
}

// rows of a table: [{key, value}] from its data-testid="row" elements
async function rowsOf(id, p = page) {
  return byId(id, p).getByTestId('row').evaluateAll((trs) =>
    trs.map((tr) => ({ key: tr.getAttribute('data-key'), value: tr.getAttribute('data-value') })));
}

async function tableEqualsApi(id, route, params, field, minRows) {
  let got = [], want = [];
  await eventually(`${id} = API ${route} group_by=${params.group_by}`, async () => {
    const a = await api(route, params);
    want = a.results.map((r) => ({ key: keyOf(r, field), value: String(metricOf(r)) }));
    got = await rowsOf(id);
    return got.length >= Math.min(minRows, want.length) && got.length <= want.length &&
      JSON.stringify(got) === JSON.stringify(want.slice(0, got.length));
  }, async () => `shown ${JSON.stringify(got.slice(0, 5))}…(${got.length}), API ${JSON.stringify(want.slice(0, 5))}…(${want.length})`);
}

// The cards = the API's totals. Both are asked again on every try: a relative range slides,
// and flows can leave it even with the traffic stopped.
async function cardsEqualApi(route, params, what, p = page) {
  for (const [card, metric] of [['card-bytes', 'bytes'], ['card-packets', 'packets'], ['card-flows', 'flows']]) {
    let got, want;
    await eventually(`${what}: ${card}`, async () => {
      want = String(await total(route, params, metric));
      return (got = await valueOf(card, p)) === want;
    }, async () => `shown ${got}, API ${want}`);
  }
}

async function chips() {
  return byId('filter-chip').evaluateAll((els) => els.map((e) => e.getAttribute('data-filter')));
}

// ---- 1. login ----------------------------------------------------------------------------------
await page.goto(base, { waitUntil: 'domcontentloaded' });
await byId('login-username').fill(user);
await byId('login-password').fill(`${password}-wrong`);
await byId('login-submit').click();
await byId('login-error').waitFor({ state: 'visible', timeout: TIMEOUT })
  .catch(() => fail('a wrong password shows no login-error'));
await shot('login-error');
await byId('login-password').fill(password);
await byId('login-submit').click();
await byId('nav-realtime').waitFor({ state: 'visible', timeout: TIMEOUT })
  .catch(() => fail('the right password does not open the app'));

// ---- 2. Real-Time -----------------------------------------------------------------------------
const RT = '/api/netflow/realtime';
const last15 = { time_range: 'last_15m' };
await byId('nav-realtime').click();
await byId('preset-last_15m').click();
await cardsEqualApi(RT, last15, 'last 15 min');
// known totals (EXPECT_* from the driver: what flowgen sent): the cards show exactly those
for (const [card, env] of [['card-flows', 'EXPECT_FLOWS'], ['card-packets', 'EXPECT_PACKETS'], ['card-bytes', 'EXPECT_BYTES']]) {
  if (!process.env[env]) continue;
  const got = await valueOf(card);
  if (got !== process.env[env]) fail(`${card} shows ${got}, flowgen sent ${process.env[env]}`);
}
{
  const bytes = BigInt(await valueOf('card-bytes'));
  const rate = Number(await valueOf('card-rate'));
  // bits per second over the 900 s range
  const want = Number(bytes * 8n) / 900;
  if (!(Math.abs(rate - want) <= want * 0.02 + 1)) fail(`card-rate ${rate}, expected about ${want} (bytes × 8 / 900 s)`);
}
await tableEqualsApi('table-top-src', RT, { ...last15, group_by: 'src_ip', limit: '10' }, 'src_ip', 5);
await tableEqualsApi('table-top-dst', RT, { ...last15, group_by: 'dst_ip', limit: '10' }, 'dst_ip', 5);
await tableEqualsApi('table-protocols', RT, { ...last15, group_by: 'protocol', limit: '256' }, 'protocol', 2);
{
  const a = await api(RT, { ...last15, group_by: 'dst_port', limit: '5' });
  const want = a.results.map((r) => [String(r.dst_port), Number(r.bytes)]);
  let got;
  await eventually('chart-dst-ports = API top 5 dst_port', async () => {
    const s = JSON.parse(await byId('chart-dst-ports').getAttribute('data-series'));
    got = s[0].points.map(([k, v]) => [String(k), Number(v)]);
    return JSON.stringify(got) === JSON.stringify(want);
  }, async () => `plotted ${JSON.stringify(got)}, API ${JSON.stringify(want)}`);
}
{
  const a = await api('/api/netflow/flows', { ...last15, limit: '100' });
  const want = a.results.map((r) => ({ key: r.src_ip, value: String(r.bytes) }));
  let got = [];
  await eventually('table-recent-flows = API /flows', async () => {
    got = await rowsOf('table-recent-flows');
    return got.length >= Math.min(10, want.length) &&
      JSON.stringify(got) === JSON.stringify(want.slice(0, got.length));
  }, async () => `shown ${JSON.stringify(got.slice(0, 3))}, API ${JSON.stringify(want.slice(0, 3))}`);
}
{
  const series = JSON.parse(await byId('chart-volume').getAttribute('data-series'));
  const plotted = series.reduce((s, x) => s + x.points.reduce((t, [, v]) => t + Number(v), 0), 0);
  if (plotted <= 0) fail('chart-volume plots nothing');
}
if ((await byId('backend-info').first().getAttribute('data-backend')) !== 'clickhouse')
  fail('backend-info does not say clickhouse for the last 15 minutes');
await shot('realtime');

// ---- 3. filters --------------------------------------------------------------------------------
await byId('filter-input').fill('tcp');
await byId('filter-add').click();
await eventually('typed filter tcp', async () => JSON.stringify(await chips()) === '["protocol=tcp"]',
  async () => `chips ${JSON.stringify(await chips())}`);
await cardsEqualApi(RT, { ...last15, filter: 'protocol=tcp' }, 'filter protocol=tcp');
// clicking the first source address adds it as a filter
const firstSrc = (await rowsOf('table-top-src'))[0]?.key;
await byId('table-top-src').getByTestId('row').first().getByText(firstSrc, { exact: true }).first().click();
await eventually('clicked address', async () => (await chips()).includes(`src_ip=${firstSrc}`),
  async () => `chips ${JSON.stringify(await chips())}`);
const filtered = [['filter', 'protocol=tcp'], ['filter', `src_ip=${firstSrc}`], ['time_range', 'last_15m']];
await cardsEqualApi(RT, filtered, `filters protocol=tcp + src_ip=${firstSrc}`);
await shot('realtime-filtered');
// the URL holds the view: a fresh page on it (a new tab: it logs in first — the token lives
// in sessionStorage) shows the same filters and numbers
{
  const link = page.url();
  const again = await context.newPage();
  await again.goto(link, { waitUntil: 'domcontentloaded' });
  await again.getByTestId('login-username').fill(user);
  await again.getByTestId('login-password').fill(password);
  await again.getByTestId('login-submit').click();
  let got = [];
  const until = Date.now() + TIMEOUT;
  while (Date.now() < until) {
    got = await again.getByTestId('filter-chip').evaluateAll((els) => els.map((e) => e.getAttribute('data-filter')));
    if (got.length >= 2) break;
    await again.waitForTimeout(250);
  }
  if (!(got.includes('protocol=tcp') && got.includes(`src_ip=${firstSrc}`)))
    fail(`the link ${link} does not reproduce the filters (shows ${JSON.stringify(got)})`);
  await cardsEqualApi(RT, filtered, 'the link', again);
  await again.close();
}
while ((await byId('filter-chip-remove').count()) > 0) {
  const n = await byId('filter-chip-remove').count();
  await byId('filter-chip-remove').first().click();
  await eventually('chip removed', async () => (await byId('filter-chip-remove').count()) < n, async () => `${n} chips stay`);
  if (failures.length) break;
}
await cardsEqualApi(RT, last15, 'filters removed');

// ---- 4. Historical --------------------------------------------------------------------------
await byId('nav-historical').click();
await byId('hist-preset-7d').click();
{
  // every plotted value together = the range's total of the plotted metric (the traffic
  // is minutes old, so it falls in one or two day buckets)
  let got = 0;
  const want = Number(await total('/api/netflow/historical', { time_range: 'last_7d' }, 'bytes'));
  await eventually('chart-trends total = API historical total bytes', async () => {
    const series = JSON.parse(await byId('chart-trends').getAttribute('data-series'));
    got = series.reduce((s, x) => s + x.points.reduce((t, [, v]) => t + Number(v), 0), 0);
    return got === want;
  }, async () => `plotted ${got}, API ${want}`);
}
await tableEqualsApi('table-hist-top', '/api/netflow/historical',
  { time_range: 'last_7d', group_by: (await byId('hist-top-field').inputValue()) || 'src_ip', limit: '10' },
  (await byId('hist-top-field').inputValue()) || 'src_ip', 3);
await shot('historical');
// CSV downloads: the top-N table and the trends series
{
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), byId('csv-hist-top').click()]);
  const file = path.join(artifacts, dl.suggestedFilename() || 'hist-top.csv');
  await dl.saveAs(file);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  const shown = await rowsOf('table-hist-top');
  const body = lines.slice(1).map((l) => l.split(',').map((c) => c.replace(/^"|"$/g, '')));
  if (body.length < shown.length) fail(`csv-hist-top: ${body.length} rows, the table shows ${shown.length}`);
  shown.forEach((r, i) => {
    if (!body[i] || body[i][0] !== r.key || body[i][1] !== r.value)
      fail(`csv-hist-top row ${i + 1}: ${JSON.stringify(body[i])}, the table shows ${JSON.stringify(r)}`);
  });
}
{
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), byId('csv-trends').click()]);
  const file = path.join(artifacts, dl.suggestedFilename() || 'trends.csv');
  await dl.saveAs(file);
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.length > 0);
  if (lines.length < 2) fail(`csv-trends: ${lines.length} lines`);
}

// ---- 5. Pipeline health ------------------------------------------------------------------------
await byId('nav-health').click();
{
  const st = await api('/api/netflow/status', {});
  let rows = [];
  await eventually('health rows = status hops, all up', async () => {
    rows = await byId('health-row').evaluateAll((els) => els.map((e) => [e.getAttribute('data-name'), e.getAttribute('data-up')]));
    return rows.length === st.hops.length && rows.every(([, up]) => up === 'true');
  }, async () => `rows ${JSON.stringify(rows)}, status has ${st.hops.length} hops`);
  await byId('health-tier-clickhouse').waitFor({ timeout: TIMEOUT }).catch(() => fail('no health-tier-clickhouse'));
  await byId('health-tier-iceberg').waitFor({ timeout: TIMEOUT }).catch(() => fail('no health-tier-iceberg'));
}
await shot('health');

// ---- 6. the API down ---------------------------------------------------------------------------
if (corePid) {
  process.kill(Number(corePid), 'SIGTERM');
  await page.waitForTimeout(1500);
  await byId('nav-realtime').click();
  await byId('preset-last_1h').click();
  const banner = byId('error-banner');
  await banner.waitFor({ state: 'visible', timeout: TIMEOUT }).catch(() => fail('API down: no error-banner'));
  const text = (await banner.textContent().catch(() => '')) || '';
  if (text.trim().length < 10) fail(`API down: the error banner says "${text}"`);
  const bodyText = await page.evaluate(() => document.body.innerText);
  if (bodyText.trim().length < 50) fail('API down: the page is (nearly) blank');
  await shot('api-down');
}

if (pageErrors.length) fail(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
await browser.close();
writeFileSync(path.join(artifacts, 'result.txt'), failures.length ? failures.join('\n') + '\n' : 'pass\n');
if (failures.length) {
  console.error(`ui_test: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log('PASS ui_test');
