/**
 * views/realtime.js — Network Traffic → Real-Time: presets, auto-refresh, filter bar, cards,
 * top talkers, top destination ports, volume over time (stacked), protocol breakdown, recent
 * flows.
 *
 * Queries go to /api/netflow/realtime (ClickHouse, current to the second). Every panel has its own query (run in parallel) and is redrawn only when its query succeeds:
 * on an error the banner says why and the panel keeps its last data. A generation counter
 * drops answers of a state that is no longer shown (a preset clicked mid-refresh).
 */
import { h, panel, dataTable, emptyState, filterLink, button, saveBlob, answerMeta, staleNote } from '../dom.js';
import { chartBox, barChart, lineChart, clearChart } from '../charts.js';
import { formatBytes, formatBits, formatCount, protocolName, formatTime, fileStamp, toNumber } from '../format.js';
import { stackWithOther, sumRows, bigToJson } from '../series.js';
import { toCsv, seriesCsv, csvFileName } from '../csv.js';
import { ApiError } from '../api.js';

/** The hot tier only: every preset lies inside its retention, and "real time" means it. */
const ROUTE = '/api/netflow/realtime';
const PRESETS = [['last_15m', '15 min'], ['last_1h', '1 hour'], ['last_24h', '24 hours'], ['today', 'Today']];
const RANGE_TEXT = { last_15m: 'the last 15 minutes', last_1h: 'the last hour', last_24h: 'the last 24 hours', today: 'today (UTC)' };
/** Bucket width of the volume chart per preset: one grid for every stacked series. */
const INTERVAL = { last_15m: 60, last_1h: 60, last_24h: 900, today: 900 };
const STACK_KEYS = 5;
const TOP_N = 10;
const RECENT = 100;

/**
 * "No flows in the last 15 minutes matching src_ip=… and dst_port=…"
 * @param {import('../state.js').ViewState} s
 * @param {string} what
 */
function emptyText(s, what) {
  const m = s.filters.length ? ` matching ${s.filters.join(' and ')}` : '';
  return `No ${what} in ${RANGE_TEXT[s.range]}${m}.`;
}

/**
 * @param {object} ctx
 * @param {ReturnType<import('../api.js').createApi>} ctx.api
 * @param {() => import('../state.js').ViewState} ctx.getState
 * @param {(patch: Partial<import('../state.js').ViewState>) => void} ctx.setState
 * @param {(f: string) => void} ctx.addFilter
 * @param {{error: (e: unknown) => void, clear: () => void}} ctx.banner
 */
export function createRealtimeView(ctx) {
  const { api } = ctx;
  let generation = 0;
  /** last successful answers, for CSV of what is shown */
  let recentRows = [];
  let volumeSeries = [];

  const presetButtons = PRESETS.map(([id, text]) =>
    h('button', { type: 'button', class: 'btn preset', 'data-testid': `preset-${id}`, onclick: () => ctx.setState({ range: /** @type {any} */ (id) }), text }));
  const autoBtn = h('button', {
    type: 'button', class: 'btn', 'data-testid': 'autorefresh-toggle',
    onclick: () => ctx.setState({ auto: !ctx.getState().auto }),
  });
  const backend = h('span', { class: 'backend', 'data-testid': 'backend-info', 'data-backend': '' });
  const stale = staleNote();
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Time range' }, ...presetButtons),
    autoBtn, stale.el, backend);

  /** @param {string} id @param {string} label */
  function card(id, label) {
    const value = h('div', { class: 'card-value', text: '—' });
    const sub = h('div', { class: 'card-sub' });
    const el = h('div', { class: 'card', 'data-testid': `card-${id}`, 'data-value': '', role: 'group', 'aria-label': label },
      h('div', { class: 'card-label', text: label }), value, sub);
    return { el, value, sub };
  }
  const cards = { bytes: card('bytes', 'Total bytes'), packets: card('packets', 'Packets'), flows: card('flows', 'Flows'), rate: card('rate', 'Average rate') };

  const csvBtn = (name, fn) => button(`csv-${name}`, 'CSV', () => fn().catch(ctx.banner.error), `Download ${name} as CSV`);
  const range = () => ctx.getState().range;
  /** @param {string} what @param {Record<string, any>} p */
  const apiCsv = (what, p) => async () => {
    const s = ctx.getState();
    const blob = await api.getBlob(ROUTE, { time_range: s.range, filter: s.filters, ...p, format: 'csv' });
    saveBlob(blob, csvFileName(what, s.range, fileStamp(Date.now())));
  };

  const pSrc = panel('Top sources', [csvBtn('top-src', apiCsv('top-src', { group_by: 'src_ip', limit: TOP_N }))]);
  const pDst = panel('Top destinations', [csvBtn('top-dst', apiCsv('top-dst', { group_by: 'dst_ip', limit: TOP_N }))]);
  const portsChart = chartBox('chart-dst-ports', 'Top 5 destination ports by bytes');
  const pPorts = panel('Top 5 destination ports', []);
  const portsEmpty = h('div');
  pPorts.body.append(portsChart, portsEmpty);
  const pProto = panel('Protocols', [csvBtn('protocols', apiCsv('protocols', { group_by: 'protocol', limit: 256 }))]);
  const stackSel = /** @type {HTMLSelectElement} */ (h('select', { 'data-testid': 'stack-mode', id: 'stack-mode', 'aria-label': 'Stack the volume by' },
    h('option', { value: 'protocol', text: 'by protocol' }), h('option', { value: 'src_ip', text: 'by top sources' }), h('option', { value: 'dst_ip', text: 'by top destinations' })));
  stackSel.addEventListener('change', () => ctx.setState({ stack: /** @type {any} */ (stackSel.value) }));
  const volumeChart = chartBox('chart-volume', 'Traffic volume over time');
  const volumeEmpty = h('div');
  const pVolume = panel('Traffic volume over time', [stackSel, csvBtn('volume', async () => {
    saveBlob(new Blob([seriesCsv('timestamp', volumeSeries)], { type: 'text/csv' }), csvFileName(`volume-by-${ctx.getState().stack}`, range(), fileStamp(Date.now())));
  })], 'wide');
  pVolume.body.append(volumeChart, volumeEmpty);
  const pRecent = panel('Recent flows', [csvBtn('recent-flows', async () => {
    const cols = ['timestamp', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'bytes', 'packets', 'exporter', 'in_if', 'out_if', 'sampling_rate'];
    saveBlob(new Blob([toCsv(cols, recentRows.map((r) => cols.map((c) => r[c])))], { type: 'text/csv' }), csvFileName('recent-flows', range(), fileStamp(Date.now())));
  })], 'wide');

  const el = h('div', { class: 'view view-realtime' },
    h('h1', { class: 'sr-only', text: 'Real-Time network traffic' }),
    toolbar, h('div', { class: 'filter-slot' }),
    h('div', { class: 'cards' }, cards.bytes.el, cards.packets.el, cards.flows.el, cards.rate.el),
    h('div', { class: 'grid' }, pSrc.el, pDst.el, pPorts.el, pProto.el, pVolume.el, pRecent.el));

  function syncControls() {
    const s = ctx.getState();
    for (const b of presetButtons) b.setAttribute('aria-pressed', String(b.getAttribute('data-testid') === `preset-${s.range}`));
    autoBtn.setAttribute('aria-pressed', String(s.auto));
    autoBtn.textContent = s.auto ? 'Auto-refresh: on (10 s)' : 'Auto-refresh: off';
    stackSel.value = s.stack;
  }

  /**
   * A top-talkers table: addresses are filter links, bytes right-aligned.
   * @param {string} testid
   * @param {string} caption accessible name
   * @param {string} label the key column's header
   * @param {'src_ip'|'dst_ip'} field the grouped field (and the filter a click adds)
   * @param {any} ans the API's answer
   */
  function talkersTable(testid, caption, label, field, ans) {
    return dataTable(testid, caption, [
      { label, cell: (r) => filterLink(String(r[field]), `${field}=${r[field]}`, ctx.addFilter) },
      { label: 'Bytes', num: true, cell: (r) => bytesCell(r.bytes) },
    ], ans.results, (r) => String(r[field]), (r) => String(r.bytes));
  }

  /** @param {any} v */
  function bytesCell(v) {
    return h('span', { title: `${formatCount(v)} bytes` }, formatBytes(v));
  }

  /** Runs every query of the current state and redraws the panels that answered. */
  async function refresh() {
    const gen = ++generation;
    const s = ctx.getState();
    syncControls();
    const base = { time_range: s.range, filter: s.filters };
    const q = (p) => api.get(ROUTE, { ...base, ...p });
    const current = () => gen === generation;
    const errors = [];
    const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => { errors.push(e); return { ok: false, v: null }; });

    const [tb, tp, tf, src, dst, ports, recent] = await Promise.all([
      settle(q({ group_by: 'protocol', limit: 256, metric: 'bytes' })),
      settle(q({ group_by: 'protocol', limit: 256, metric: 'packets' })),
      settle(q({ group_by: 'protocol', limit: 256, metric: 'flows' })),
      settle(q({ group_by: 'src_ip', limit: TOP_N })),
      settle(q({ group_by: 'dst_ip', limit: TOP_N })),
      settle(q({ group_by: 'dst_port', limit: 5 })),
      settle(api.get('/api/netflow/flows', { ...base, limit: RECENT }).catch((e) => {
        if (e instanceof ApiError && e.kind === 'notfound') return { missing: true };
        throw e;
      })),
    ]);
    if (!current()) return;

    if (tb.ok) {
      backend.textContent = answerMeta(tb.v);
      backend.setAttribute('data-backend', String(tb.v.backend ?? ''));
      const bytes = sumRows(tb.v.results, 'bytes');
      const seconds = Math.max(1, (Date.parse(tb.v.end) - Date.parse(tb.v.start)) / 1000);
      const rate = (toNumber(bigToJson(bytes)) * 8) / seconds;
      setCard(cards.bytes, String(bytes), formatBytes(bigToJson(bytes)), `${formatCount(bytes)} bytes`);
      setCard(cards.rate, String(Math.round(rate * 1000) / 1000), formatBits(rate), `over ${formatCount(seconds)} s`);
      cards.rate.el.setAttribute('data-bytes', String(bytes));
      cards.rate.el.setAttribute('data-seconds', String(seconds));
      cards.bytes.el.setAttribute('data-start', tb.v.start);
      cards.bytes.el.setAttribute('data-end', tb.v.end);
      const rows = tb.v.results;
      const byProto = (ans) => new Map((ans?.results ?? []).map((r) => [r.protocol, r]));
      const pk = byProto(tp.v);
      const fl = byProto(tf.v);
      pProto.meta.textContent = answerMeta(tb.v);
      const total = toNumber(bigToJson(bytes)) || 1;
      pProto.body.replaceChildren(rows.length === 0 ? emptyState(emptyText(s, 'flows')) :
        dataTable('table-protocols', 'Traffic by protocol', [
          { label: 'Protocol', cell: (r) => filterLink(protocolName(r.protocol), `protocol=${r.protocol}`, ctx.addFilter) },
          { label: 'Bytes', num: true, cell: (r) => bytesCell(r.bytes) },
          { label: 'Packets', num: true, cell: (r) => formatCount(pk.get(r.protocol)?.packets ?? 0) },
          { label: 'Flows', num: true, cell: (r) => formatCount(fl.get(r.protocol)?.flows ?? 0) },
          { label: 'Share', num: true, cell: (r) => `${((toNumber(r.bytes) / total) * 100).toFixed(1)} %` },
        ], rows, (r) => String(r.protocol), (r) => String(r.bytes)));
    }
    if (tp.ok) {
      const p = sumRows(tp.v.results, 'packets');
      setCard(cards.packets, String(p), formatCount(p), 'packets');
    }
    if (tf.ok) {
      const f = sumRows(tf.v.results, 'flows');
      setCard(cards.flows, String(f), formatCount(f), 'flows');
    }
    if (src.ok) {
      pSrc.meta.textContent = answerMeta(src.v);
      pSrc.body.replaceChildren(src.v.results.length === 0 ? emptyState(emptyText(s, 'flows')) :
        talkersTable('table-top-src', 'Top sources by bytes', 'Source', 'src_ip', src.v));
    }
    if (dst.ok) {
      pDst.meta.textContent = answerMeta(dst.v);
      pDst.body.replaceChildren(dst.v.results.length === 0 ? emptyState(emptyText(s, 'flows')) :
        talkersTable('table-top-dst', 'Top destinations by bytes', 'Destination', 'dst_ip', dst.v));
    }
    if (ports.ok) {
      pPorts.meta.textContent = answerMeta(ports.v);
      const rows = ports.v.results;
      if (rows.length === 0) {
        clearChart(portsChart);
        portsChart.hidden = true;
        portsEmpty.replaceChildren(emptyState(emptyText(s, 'flows')));
      } else {
        portsChart.hidden = false;
        portsEmpty.replaceChildren(h('div', { class: 'port-links' }, 'Filter: ',
          ...rows.map((r) => filterLink(String(r.dst_port), `dst_port=${r.dst_port}`, ctx.addFilter))));
        barChart(portsChart, 'bytes', rows.map((r) => [r.dst_port, r.bytes]), formatBytes);
      }
    }
    if (recent.ok) renderRecent(s, recent.v);

    // The volume chart: one series per stacked key, in parallel, on one bucket grid.
    let keys = [];
    if (s.stack === 'protocol' && tb.ok) keys = tb.v.results.slice(0, STACK_KEYS).map((r) => ({ label: protocolName(r.protocol), filter: `protocol=${r.protocol}` }));
    else if (s.stack === 'src_ip' && src.ok) keys = src.v.results.slice(0, STACK_KEYS).map((r) => ({ label: r.src_ip, filter: `src_ip=${r.src_ip}` }));
    else if (s.stack === 'dst_ip' && dst.ok) keys = dst.v.results.slice(0, STACK_KEYS).map((r) => ({ label: r.dst_ip, filter: `dst_ip=${r.dst_ip}` }));
    const haveKeys = (s.stack === 'protocol' && tb.ok) || (s.stack === 'src_ip' && src.ok) || (s.stack === 'dst_ip' && dst.ok);
    if (haveKeys) {
      const [totalSeries, ...series] = await Promise.all([
        settle(q({ group_by: 'time', interval: INTERVAL[s.range] })),
        ...keys.map((k) => settle(q({ group_by: 'time', interval: INTERVAL[s.range], filter: [...s.filters, k.filter] })))]);
      if (!current()) return;
      if (totalSeries.ok && series.every((x) => x.ok)) {
        pVolume.meta.textContent = answerMeta(totalSeries.v);
        // The stack adds up to the total: keys beyond the top ones go to "other".
        const aligned = stackWithOther(keys.map((k, i) => ({ label: k.label, rows: series[i].v.results })),
          totalSeries.v.results, 'bytes');
        volumeSeries = aligned.series;
        if (aligned.labels.length === 0) {
          clearChart(volumeChart);
          volumeChart.hidden = true;
          volumeEmpty.replaceChildren(emptyState(emptyText(s, 'flows')));
        } else {
          volumeChart.hidden = false;
          volumeEmpty.replaceChildren();
          lineChart(volumeChart, aligned.labels, aligned.series, INTERVAL[s.range], formatBytes);
        }
      }
    }
    if (errors.length) {
      ctx.banner.error(errors[0]);
      stale.failed();
    } else {
      ctx.banner.clear();
      stale.ok();
    }
  }

  /** @param {{el: HTMLElement, value: HTMLElement, sub: HTMLElement}} c */
  function setCard(c, raw, text, sub) {
    c.el.setAttribute('data-value', raw);
    c.value.textContent = text;
    c.sub.textContent = sub;
  }

  /** @param {import('../state.js').ViewState} s @param {any} ans */
  function renderRecent(s, ans) {
    if (ans.missing) {
      recentRows = [];
      pRecent.meta.textContent = '';
      pRecent.body.replaceChildren(emptyState('Recent flows need a newer core (this one has no /api/netflow/flows).'));
      return;
    }
    const rows = Array.isArray(ans.results) ? ans.results : [];
    recentRows = rows;
    pRecent.meta.textContent = answerMeta(ans);
    if (rows.length === 0) {
      pRecent.body.replaceChildren(emptyState(emptyText(s, 'flows')));
      return;
    }
    const link = (field, v) => filterLink(String(v), `${field}=${v}`, ctx.addFilter);
    pRecent.body.replaceChildren(h('div', { class: 'scroll' }, dataTable('table-recent-flows', 'Most recent flows', [
      { label: 'Time (UTC)', cell: (r) => formatTime(r.timestamp).replace(' UTC', '') },
      { label: 'Source', cell: (r) => link('src_ip', r.src_ip) },
      { label: 'Src port', num: true, cell: (r) => link('src_port', r.src_port) },
      { label: 'Destination', cell: (r) => link('dst_ip', r.dst_ip) },
      { label: 'Dst port', num: true, cell: (r) => link('dst_port', r.dst_port) },
      { label: 'Protocol', cell: (r) => protocolName(r.protocol) },
      { label: 'Bytes', num: true, cell: (r) => formatCount(r.bytes) },
      { label: 'Packets', num: true, cell: (r) => formatCount(r.packets) },
      { label: 'Exporter', cell: (r) => link('exporter', r.exporter) },
      { label: 'In/out if', num: true, cell: (r) => `${r.in_if ?? ''} / ${r.out_if ?? ''}` },
    ], rows, (r) => String(r.src_ip), (r) => String(r.bytes))));
  }

  return { el, refresh, syncControls };
}
