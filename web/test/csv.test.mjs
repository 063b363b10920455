// csv.test.mjs — RFC 4180 quoting, CRLF line ends, series as one table, file names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField, toCsv, seriesCsv, csvFileName } from '../src/csv.js';

test('csvField quotes only when needed, doubling quotes', () => {
  assert.equal(csvField('abc'), 'abc');
  assert.equal(csvField(42), '42');
  assert.equal(csvField(12345678901234567890n), '12345678901234567890');
  assert.equal(csvField(null), '');
  assert.equal(csvField(undefined), '');
  assert.equal(csvField(''), '');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('"'), '""""');
  assert.equal(csvField('line1\nline2'), '"line1\nline2"');
  assert.equal(csvField('cr\r'), '"cr\r"');
  assert.equal(csvField(' lead'), '" lead"');
  assert.equal(csvField('2001:db8::1'), '2001:db8::1');
});

test('toCsv: header first, CRLF after every line', () => {
  assert.equal(toCsv(['a', 'b'], [[1, 'x,y'], [2, null]]), 'a,b\r\n1,"x,y"\r\n2,\r\n');
  assert.equal(toCsv(['only'], []), 'only\r\n');
});

test('seriesCsv: a column per series, keys in first-seen order, empty where missing', () => {
  const csv = seriesCsv('timestamp', [
    { label: 'TCP (6)', points: [['t1', 10], ['t2', 20]] },
    { label: 'UDP, "17"', points: [['t2', 5], ['t3', '9007199254740993']] },
  ]);
  assert.equal(csv, 'timestamp,TCP (6),"UDP, ""17"""\r\nt1,10,\r\nt2,20,5\r\nt3,,9007199254740993\r\n');
  assert.equal(seriesCsv('t', []), 't\r\n');
});

test('csvFileName says what and when, safely', () => {
  assert.equal(csvFileName('top-src', 'last_15m', '20261127T132205Z'), 'netflow_top-src_last_15m_20261127T132205Z.csv');
  assert.equal(csvFileName('a/b c', '2026-01-01_2026-01-31', 'x'), 'netflow_a-b-c_2026-01-01_2026-01-31_x.csv');
});
