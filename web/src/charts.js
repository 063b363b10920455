/**
 * charts.js — Chart.js behind three small functions: a bar chart of keys, a (stacked) line
 * chart over time, stacked bars over time with highlighted spikes.
 *
 * Each chart lives in a wrapper element that carries data-testid and data-series (the JSON
 * of exactly what is plotted, [{label, points: [[t_or_key, value], …]}], values as the API
 * gave them) so tests compare the data without reading pixels. A chart is created once per
 * wrapper and updated in place (no animation), so auto-refresh does not flicker.
 */
import { Chart, registerables } from 'chart.js';
import { formatShort, toNumber } from './format.js';

Chart.register(...registerables);

const PALETTE = ['#4e9af1', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

/** @param {string} name CSS custom property */
function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * A wrapper with a canvas.
 * @param {string} testid
 * @param {string} label accessible description
 * @returns {HTMLElement}
 */
export function chartBox(testid, label) {
  const wrap = document.createElement('div');
  wrap.className = 'chart';
  wrap.setAttribute('data-testid', testid);
  wrap.setAttribute('data-series', '[]');
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  wrap.append(canvas);
  return wrap;
}

/**
 * @param {HTMLElement} wrap
 * @param {{label: string, points: Array<[string|number, number|string]>}[]} series
 */
function setSeries(wrap, series) {
  wrap.setAttribute('data-series', JSON.stringify(series));
}

/**
 * Creates or updates the wrapper's chart.
 * @param {HTMLElement} wrap
 * @param {any} config Chart.js config
 */
function draw(wrap, config) {
  const canvas = /** @type {HTMLCanvasElement} */ (wrap.querySelector('canvas'));
  const grid = cssVar('--grid');
  const text = cssVar('--muted');
  config.options = {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: 'index', intersect: false },
    plugins: { legend: { labels: { color: text, boxWidth: 12 } }, ...(config.options?.plugins ?? {}) },
    ...config.options,
  };
  for (const axis of Object.values(config.options.scales ?? {})) {
    axis.grid = { color: grid };
    axis.ticks = { color: text, ...(axis.ticks ?? {}) };
  }
  const old = Chart.getChart(canvas);
  if (old) old.destroy();
  new Chart(canvas, config);
}

/**
 * A bar chart of keys (e.g. top destination ports).
 * @param {HTMLElement} wrap
 * @param {string} label series name
 * @param {Array<[string|number, number|string]>} points [key, value]
 * @param {(v: number) => string} fmt value format for the axis and tooltips
 */
export function barChart(wrap, label, points, fmt = formatShort) {
  setSeries(wrap, [{ label, points }]);
  draw(wrap, {
    type: 'bar',
    data: { labels: points.map((p) => String(p[0])), datasets: [{ label, data: points.map((p) => toNumber(p[1])), backgroundColor: PALETTE[0] }] },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => fmt(c.raw) } } },
      scales: { x: { ticks: { callback: (v) => fmt(Number(v)) } }, y: {} },
    },
  });
}

/** @param {string} t RFC 3339 @param {number} interval seconds */
function timeLabel(t, interval) {
  const iso = new Date(t).toISOString();
  if (interval >= 86400) return iso.slice(0, 10);
  return iso.slice(5, 16).replace('T', ' ');
}

/**
 * A line chart over time, stacked (filled areas) when several series are given.
 * @param {HTMLElement} wrap
 * @param {string[]} labels timestamps, ascending
 * @param {{label: string, points: Array<[string, number|string]>}[]} series aligned on labels
 * @param {number} interval bucket seconds (for the axis labels)
 * @param {(v: number) => string} fmt
 */
export function lineChart(wrap, labels, series, interval, fmt = formatShort) {
  setSeries(wrap, series);
  draw(wrap, {
    type: 'line',
    data: {
      labels: labels.map((t) => timeLabel(t, interval)),
      datasets: series.map((s, i) => ({
        label: s.label, data: s.points.map((p) => toNumber(p[1])),
        borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length] + '88',
        fill: series.length > 1 ? (i === 0 ? 'origin' : '-1') : false, pointRadius: 0, tension: 0.2,
      })),
    },
    options: {
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.raw)}` } } },
      scales: { x: {}, y: { stacked: series.length > 1, beginAtZero: true, ticks: { callback: (v) => fmt(Number(v)) } } },
    },
  });
}

/**
 * Stacked bars over time; the buckets flagged as spikes get a red outline on every segment
 * and a red axis label, and are listed in the wrapper's data-spikes (JSON of timestamps).
 * data-series holds exactly the stacked series (their sum per bucket is the bar's height).
 * @param {HTMLElement} wrap
 * @param {string[]} labels bucket timestamps ascending
 * @param {{label: string, points: Array<[string, number|string]>}[]} series aligned on labels
 * @param {boolean[]} spikes one per label
 * @param {number} interval bucket seconds
 * @param {(v: number) => string} fmt
 */
export function stackedBars(wrap, labels, series, spikes, interval, fmt = formatShort) {
  setSeries(wrap, series);
  wrap.setAttribute('data-spikes', JSON.stringify(labels.filter((_, i) => spikes[i])));
  const spike = cssVar('--bad');
  const text = cssVar('--muted');
  const datasets = series.map((s, i) => ({
    label: s.label, data: s.points.map((p) => toNumber(p[1])),
    backgroundColor: PALETTE[i % PALETTE.length], stack: 'traffic',
    borderColor: spikes.map((x) => (x ? spike : 'transparent')), borderWidth: spikes.map((x) => (x ? 3 : 0)),
  }));
  const shown = labels.map((t) => (interval >= 86400 * 28 ? new Date(t).toISOString().slice(0, 7) : timeLabel(t, interval)));
  draw(wrap, {
    type: 'bar',
    data: { labels: shown.map((l, i) => (spikes[i] ? `${l} ▲ spike` : l)), datasets },
    options: {
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.raw)}` } } },
      scales: {
        x: { stacked: true, ticks: { color: (c) => (spikes[c.index] ? spike : text) } },
        y: { stacked: true, beginAtZero: true, ticks: { callback: (v) => fmt(Number(v)) } },
      },
    },
  });
}

/**
 * Clears a chart and its data-series (for empty states).
 * @param {HTMLElement} wrap
 */
export function clearChart(wrap) {
  setSeries(wrap, []);
  const canvas = wrap.querySelector('canvas');
  const old = canvas ? Chart.getChart(canvas) : undefined;
  if (old) old.destroy();
}
