// series.test.mjs — stacking on common buckets (missing = 0) and month aggregation (exact).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignSeries, aggregateByMonth, monthOf, sumRows, bigToJson, stackWithOther, fillBuckets } from '../src/series.js';

test('alignSeries: union of buckets ascending, missing buckets are 0', () => {
  const r = alignSeries([
    { label: 'tcp', rows: [{ timestamp: '2026-11-27T13:02:00Z', bytes: 5 }, { timestamp: '2026-11-27T13:00:00Z', bytes: 1 }] },
    { label: 'udp', rows: [{ timestamp: '2026-11-27T13:01:00Z', bytes: 7 }] },
  ], 'bytes');
  assert.deepEqual(r.labels, ['2026-11-27T13:00:00Z', '2026-11-27T13:01:00Z', '2026-11-27T13:02:00Z']);
  assert.deepEqual(r.series, [
    { label: 'tcp', points: [['2026-11-27T13:00:00Z', 1], ['2026-11-27T13:01:00Z', 0], ['2026-11-27T13:02:00Z', 5]] },
    { label: 'udp', points: [['2026-11-27T13:00:00Z', 0], ['2026-11-27T13:01:00Z', 7], ['2026-11-27T13:02:00Z', 0]] },
  ]);
});

test('alignSeries: sorts by time, not text; keeps big values as given; other metrics', () => {
  const r = alignSeries([
    { label: 'a', rows: [{ timestamp: '2026-11-27T10:00:00Z', packets: '9007199254740993' }] },
    { label: 'b', rows: [{ timestamp: '2026-11-27T09:00:00+00:00', packets: 3 }] },
  ], 'packets');
  assert.deepEqual(r.labels, ['2026-11-27T09:00:00+00:00', '2026-11-27T10:00:00Z']);
  assert.deepEqual(r.series[0].points[1], ['2026-11-27T10:00:00Z', '9007199254740993']);
  assert.deepEqual(r.series[0].points[0], ['2026-11-27T09:00:00+00:00', 0]);
});

test('alignSeries: nothing → nothing', () => {
  assert.deepEqual(alignSeries([], 'bytes'), { labels: [], series: [] });
  assert.deepEqual(alignSeries([{ label: 'x', rows: [] }], 'bytes'), { labels: [], series: [{ label: 'x', points: [] }] });
});

test('monthOf is UTC', () => {
  assert.equal(monthOf('2026-01-31T23:30:00-01:00'), '2026-02');
  assert.equal(monthOf('2026-12-31T00:00:00Z'), '2026-12');
});

test('aggregateByMonth: sums daily buckets by calendar month, spikes carried', () => {
  const rows = [
    { timestamp: '2026-01-30T00:00:00Z', bytes: 1, spike: false },
    { timestamp: '2026-01-31T00:00:00Z', bytes: 2, spike: true },
    { timestamp: '2026-02-01T00:00:00Z', bytes: 4, spike: false },
    { timestamp: '2026-02-28T00:00:00Z', bytes: 8, spike: false },
    { timestamp: '2026-04-01T00:00:00Z', bytes: 16 },
  ];
  assert.deepEqual(aggregateByMonth(rows, 'bytes'), [
    { timestamp: '2026-01-01T00:00:00Z', bytes: 3, spike: true },
    { timestamp: '2026-02-01T00:00:00Z', bytes: 12, spike: false },
    { timestamp: '2026-04-01T00:00:00Z', bytes: 16, spike: false },
  ]);
});

test('aggregateByMonth: exact above 2^53, unordered input, year boundary', () => {
  const rows = [
    { timestamp: '2027-01-01T00:00:00Z', flows: 1 },
    { timestamp: '2026-12-02T00:00:00Z', flows: '9007199254740993' },
    { timestamp: '2026-12-01T00:00:00Z', flows: 9007199254740991 },
  ];
  assert.deepEqual(aggregateByMonth(rows, 'flows'), [
    { timestamp: '2026-12-01T00:00:00Z', flows: '18014398509481984', spike: false },
    { timestamp: '2027-01-01T00:00:00Z', flows: 1, spike: false },
  ]);
  assert.deepEqual(aggregateByMonth([], 'bytes'), []);
});

test('sumRows and bigToJson', () => {
  assert.equal(sumRows([{ bytes: 1 }, { bytes: '18446744073709551615' }], 'bytes'), 18446744073709551616n);
  assert.equal(bigToJson(5n), 5);
  assert.equal(bigToJson(9007199254740993n), '9007199254740993');
});

test('stackWithOther: the stack adds up to the total; no "other" when nothing is left', () => {
  const tcp = { label: 'tcp', rows: [{ timestamp: '2026-11-27T00:00:00Z', bytes: 5 }] };
  const udp = { label: 'udp', rows: [{ timestamp: '2026-11-28T00:00:00Z', bytes: 2 }] };
  const total = [
    { timestamp: '2026-11-27T00:00:00Z', bytes: 6 },
    { timestamp: '2026-11-28T00:00:00Z', bytes: 2 },
    { timestamp: '2026-11-29T00:00:00Z', bytes: '9007199254740993' },
  ];
  const r = stackWithOther([tcp, udp], total, 'bytes');
  assert.deepEqual(r.labels, ['2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z', '2026-11-29T00:00:00Z']);
  assert.deepEqual(r.series.map((s) => s.label), ['tcp', 'udp', 'other']);
  assert.deepEqual(r.series[2].points, [['2026-11-27T00:00:00Z', 1], ['2026-11-28T00:00:00Z', 0], ['2026-11-29T00:00:00Z', '9007199254740993']]);
  const exact = stackWithOther([tcp], [{ timestamp: '2026-11-27T00:00:00Z', bytes: 5 }], 'bytes');
  assert.deepEqual(exact.series.map((s) => s.label), ['tcp']);
  const over = stackWithOther([tcp], [{ timestamp: '2026-11-27T00:00:00Z', bytes: 4 }], 'bytes');
  assert.deepEqual(over.series.map((s) => s.label), ['tcp'], 'never negative');
});

test('fillBuckets: every day of the range, zero where the API had no bucket', () => {
  const rows = [{ timestamp: '2026-11-27T00:00:00Z', bytes: 5, spike: true }];
  const r = fillBuckets(rows, '2026-11-20T13:05:00Z', '2026-11-27T13:05:01Z', 'day', 'bytes');
  assert.equal(r.length, 8); // the 20th (partial) .. the 27th
  assert.deepEqual(r[0], { timestamp: '2026-11-20T00:00:00Z', bytes: 0, spike: false });
  assert.deepEqual(r[7], rows[0]);
  assert.deepEqual(r.map((x) => x.timestamp.slice(8, 10)), ['20', '21', '22', '23', '24', '25', '26', '27']);
});

test('fillBuckets: months, across a year end; nothing to add; bad ranges', () => {
  const r = fillBuckets([{ timestamp: '2027-01-01T00:00:00Z', flows: '9007199254740993' }],
    '2026-11-15T00:00:00Z', '2027-02-01T00:00:00Z', 'month', 'flows');
  assert.deepEqual(r.map((x) => x.timestamp), ['2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z']);
  assert.equal(r[2].flows, '9007199254740993');
  const full = [{ timestamp: '2026-11-27T00:00:00Z', bytes: 1 }];
  assert.equal(fillBuckets(full, '2026-11-27T01:00:00Z', '2026-11-27T02:00:00Z', 'day', 'bytes'), full);
  assert.equal(fillBuckets(full, '2026-11-28T00:00:00Z', '2026-11-27T00:00:00Z', 'day', 'bytes'), full);
  assert.equal(fillBuckets(full, 'nonsense', '2026-11-27T00:00:00Z', 'day', 'bytes'), full);
  // more than 1000 days: left as they are
  assert.equal(fillBuckets(full, '2020-01-01T00:00:00Z', '2026-11-27T00:00:00Z', 'day', 'bytes'), full);
});

