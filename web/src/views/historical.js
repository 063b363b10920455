/**
 * views/historical.js — Network Traffic → Historical: last 7/30/90 days or a custom range of
 * UTC days; trends by protocol per day or per month (stacked bars, spikes of the total series
 * highlighted and listed); top-N over the range; CSV of every table and series.
 *
 * Daily buckets come from the API (group_by=time, interval=86400, one series per top
 * protocol, in parallel, plus the total over all protocols whose rows carry "spike"; the
 * protocols beyond the top ones are stacked as "other protocols" so bars add up to the total);
 * months are those daily buckets summed client-side (series.js aggregateByMonth), since
 * calendar months are not fixed-width buckets.
 */
import { h, panel, dataTable, emptyState, filterLink, button, saveBlob, answerMeta, staleNote } from '../dom.js';
import { chartBox, stackedBars, clearChart } from '../charts.js';
import { formatBytes, formatCount, protocolName, fileStamp, formatTime } from '../format.js';
import { aggregateByMonth, stackWithOther, monthOf, fillBuckets } from '../series.js';
import { seriesCsv, csvFileName } from '../csv.js';
import { histRangeParams, customRangeError } from '../state.js';

/** The cold tier (Iceberg, 90 days), as committed: about a minute behind, stable between
 * commits, so what is shown does not move under the reader (docs/core.md). */
const ROUTE = '/api/netflow/historical';
const PRESETS = [['7d', 'last_7d', 'Last 7 days'], ['30d', 'last_30d', 'Last 30 days'], ['90d', 'last_90d', 'Last 90 days']];
const DAY = 86400;
const PROTOCOLS = 6;
const TOP_N = 10;
const TOP_FIELDS = [['src_ip', 'Source IP'], ['dst_ip', 'Destination IP'], ['dst_port', 'Destination port']];

/** @param {import('../state.js').ViewState} s */
function rangeText(s) {
  if (s.hrange === 'custom') return `${s.hstart} – ${s.hend} (UTC)`;
  return { last_7d: 'the last 7 days', last_30d: 'the last 30 days', last_90d: 'the last 90 days' }[s.hrange];
}

/** @param {import('../state.js').ViewState} s */
function rangeName(s) {
  return s.hrange === 'custom' ? `${s.hstart}_${s.hend}` : s.hrange;
}

/**
 * @param {object} ctx same as createRealtimeView's
 */
export function createHistoricalView(ctx) {
  const { api } = ctx;
  let generation = 0;
  let trendSeries = [];

  const presetButtons = PRESETS.map(([id, value, text]) =>
    h('button', { type: 'button', class: 'btn preset', 'data-testid': `hist-preset-${id}`, 'data-range': value, onclick: () => ctx.setState({ hrange: value, hstart: '', hend: '' }), text }));
  const startIn = /** @type {HTMLInputElement} */ (h('input', { type: 'date', id: 'hist-start', 'data-testid': 'hist-start' }));
  const endIn = /** @type {HTMLInputElement} */ (h('input', { type: 'date', id: 'hist-end', 'data-testid': 'hist-end' }));
  const rangeMsg = h('span', { class: 'filter-msg', role: 'status' });
  const apply = h('button', {
    type: 'button', class: 'btn', 'data-testid': 'hist-apply', text: 'Apply',
    onclick: () => {
      const a = startIn.value;
      const b = endIn.value;
      const why = customRangeError(a, b);
      rangeMsg.textContent = why ?? '';
      if (why === null) ctx.setState({ hrange: 'custom', hstart: a, hend: b });
    },
  });
  const backend = h('span', { class: 'backend', 'data-testid': 'backend-info', 'data-backend': '' });
  const stale = staleNote();
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Date range' }, ...presetButtons),
    h('span', { class: 'custom-range' },
      h('label', { for: 'hist-start', text: 'From' }), startIn,
      h('label', { for: 'hist-end', text: 'to' }), endIn, apply, rangeMsg),
    stale.el, backend);

  const granSel = /** @type {HTMLSelectElement} */ (h('select', { 'data-testid': 'trend-granularity', id: 'trend-granularity', 'aria-label': 'Trend granularity' },
    h('option', { value: 'day', text: 'per day' }), h('option', { value: 'month', text: 'per month' })));
  granSel.addEventListener('change', () => ctx.setState({ gran: /** @type {any} */ (granSel.value) }));
  const trendsChart = chartBox('chart-trends', 'Traffic by protocol over time, stacked; spikes of the total marked');
  const trendsEmpty = h('div');
  const pTrends = panel('Trends by protocol', [granSel, button('csv-trends', 'CSV', () => {
    const s = ctx.getState();
    // Months are named "2026-11" in the file; days keep their RFC 3339 bucket start.
    const rows = s.gran === 'month' ? trendSeries.map((x) => ({ label: x.label, points: x.points.map(([t, v]) => [monthOf(t), v]) })) : trendSeries;
    saveBlob(new Blob([seriesCsv(s.gran === 'month' ? 'month' : 'day', rows)], { type: 'text/csv' }), csvFileName(`trends-per-${s.gran}`, rangeName(s), fileStamp(Date.now())));
  }, 'Download trends as CSV')], 'wide');
  pTrends.body.append(trendsChart, trendsEmpty);
  const spikeList = h('ul', { 'data-testid': 'spike-list', class: 'spikes', 'aria-label': 'Spikes' });
  const pSpikes = panel('Spikes (total traffic per day)', []);
  pSpikes.body.append(spikeList);

  const topSel = /** @type {HTMLSelectElement} */ (h('select', { 'data-testid': 'hist-top-field', id: 'hist-top-field', 'aria-label': 'Top-N by' },
    ...TOP_FIELDS.map(([v, t]) => h('option', { value: v, text: t }))));
  topSel.addEventListener('change', () => ctx.setState({ top: /** @type {any} */ (topSel.value) }));
  const pTop = panel(`Top ${TOP_N} over the range`, [topSel, button('csv-hist-top', 'CSV', async () => {
    try {
      const s = ctx.getState();
      const blob = await api.getBlob(ROUTE, { ...histRangeParams(s), filter: s.filters, group_by: s.top, limit: TOP_N, format: 'csv' });
      saveBlob(blob, csvFileName(`top-${s.top}`, rangeName(s), fileStamp(Date.now())));
    } catch (e) {
      ctx.banner.error(e);
    }
  }, 'Download top-N as CSV')]);

  const el = h('div', { class: 'view view-historical' },
    h('h1', { class: 'sr-only', text: 'Historical network traffic' }),
    toolbar, h('div', { class: 'filter-slot' }),
    h('div', { class: 'grid' }, pTrends.el, pSpikes.el, pTop.el));

  function syncControls() {
    const s = ctx.getState();
    for (const b of presetButtons) b.setAttribute('aria-pressed', String(b.getAttribute('data-range') === s.hrange));
    if (s.hrange === 'custom') {
      startIn.value = s.hstart;
      endIn.value = s.hend;
    }
    granSel.value = s.gran;
    topSel.value = s.top;
  }

  async function refresh() {
    const gen = ++generation;
    const s = ctx.getState();
    syncControls();
    const base = { ...histRangeParams(s), filter: s.filters };
    const q = (p) => api.get(ROUTE, { ...base, ...p });
    const errors = [];
    const settle = (p) => p.then((v) => ({ ok: true, v }), (e) => { errors.push(e); return { ok: false, v: null }; });
    const [protos, total, top] = await Promise.all([
      settle(q({ group_by: 'protocol', limit: PROTOCOLS })),
      settle(q({ group_by: 'time', interval: DAY })),
      settle(q({ group_by: s.top, limit: TOP_N })),
    ]);
    if (gen !== generation) return;
    if (total.ok) {
      backend.textContent = answerMeta(total.v);
      backend.setAttribute('data-backend', String(total.v.backend ?? ''));
      const spikes = total.v.results.filter((r) => r.spike === true);
      spikeList.replaceChildren(...(spikes.length === 0
        ? [h('li', { class: 'empty', 'data-testid': 'empty-state', text: `No spikes in ${rangeText(s)}: no day departs far from the days around it.` })]
        : spikes.map((r) => h('li', { 'data-testid': 'spike', 'data-t': r.timestamp, 'data-value': String(r.bytes) },
          h('strong', { text: formatTime(r.timestamp).slice(0, 10) }), ` ${formatBytes(r.bytes)} (${formatCount(r.bytes)} bytes)`))));
    }
    if (top.ok) {
      pTop.meta.textContent = answerMeta(top.v);
      const field = top.v.group_by;
      const label = TOP_FIELDS.find(([v]) => v === field)?.[1] ?? field;
      pTop.body.replaceChildren(top.v.results.length === 0 ? emptyState(`No flows in ${rangeText(s)}${s.filters.length ? ' matching ' + s.filters.join(' and ') : ''}.`) :
        dataTable('table-hist-top', `Top ${TOP_N} by bytes`, [
          { label, cell: (r) => filterLink(String(r[field]), `${field}=${r[field]}`, ctx.addFilter) },
          { label: 'Bytes', num: true, cell: (r) => h('span', { title: formatBytes(r.bytes) }, formatCount(r.bytes)) },
          { label: '', num: true, cell: (r) => h('span', { class: 'muted', text: formatBytes(r.bytes) }) },
        ], top.v.results, (r) => String(r[field]), (r) => String(r.bytes)));
    }
    if (protos.ok && total.ok) {
      const keys = protos.v.results.map((r) => r.protocol);
      const series = await Promise.all(keys.map((p) => settle(q({ group_by: 'time', interval: DAY, filter: [...s.filters, `protocol=${p}`] }))));
      if (gen !== generation) return;
      if (series.every((x) => x.ok)) {
        pTrends.meta.textContent = answerMeta(total.v);
        let named = keys.map((p, i) => ({ label: protocolName(p), rows: series[i].v.results }));
        let totalRows = total.v.results;
        if (s.gran === 'month') {
          named = named.map((n) => ({ label: n.label, rows: aggregateByMonth(n.rows, 'bytes') }));
          totalRows = aggregateByMonth(totalRows, 'bytes');
        }
        // The whole range on the axis: days (or months) without flows as zero.
        const hasFlows = totalRows.length > 0;
        if (hasFlows)
          totalRows = fillBuckets(totalRows, total.v.start, total.v.end, s.gran === 'month' ? 'month' : 'day', 'bytes');
        // The stack adds up to the total: protocols beyond the top ones go to "other".
        const aligned = stackWithOther(named, totalRows, 'bytes', 'other protocols');
        const spikeAt = new Map(totalRows.map((r) => [new Date(r.timestamp).getTime(), r.spike === true]));
        trendSeries = aligned.series;
        if (!hasFlows) {
          clearChart(trendsChart);
          trendsChart.hidden = true;
          trendsEmpty.replaceChildren(emptyState(`No flows in ${rangeText(s)}${s.filters.length ? ' matching ' + s.filters.join(' and ') : ''}. The cold tier commits about once a minute; older days appear once flows were kept that long.`));
        } else {
          trendsChart.hidden = false;
          trendsEmpty.replaceChildren();
          stackedBars(trendsChart, aligned.labels, aligned.series,
            aligned.labels.map((t) => spikeAt.get(new Date(t).getTime()) === true),
            s.gran === 'month' ? DAY * 31 : DAY, formatBytes);
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

  return { el, refresh, syncControls };
}
