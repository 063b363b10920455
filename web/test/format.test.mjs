// format.test.mjs — human units, thousands separators (exact above 2^53), times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatBits, formatCount, formatShort, protocolName, formatTime, rfc3339, fileStamp, formatDuration, toBigInt, toNumber } from '../src/format.js';

test('formatCount: separators, exact for big values given as strings', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1000), '1,000');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount('18446744073709551615'), '18,446,744,073,709,551,615');
  assert.equal(formatCount(12345678901234567890n), '12,345,678,901,234,567,890');
  assert.equal(formatCount(-1234), '-1,234');
  assert.equal(formatCount(1234.5), '1,234.5');
});

test('formatBytes: binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.00 KiB');
  assert.equal(formatBytes(1536), '1.50 KiB');
  assert.equal(formatBytes(10 * 1024 * 1024), '10.0 MiB');
  assert.equal(formatBytes(500 * 1024 ** 3), '500 GiB');
  assert.equal(formatBytes('18446744073709551615'), '16.0 EiB');
});

test('formatBits: decimal units per second', () => {
  assert.equal(formatBits(0), '0 bit/s');
  assert.equal(formatBits(999), '999 bit/s');
  assert.equal(formatBits(1500), '1.50 kbit/s');
  assert.equal(formatBits(8772963.564), '8.77 Mbit/s');
  assert.equal(formatBits(1e10), '10.0 Gbit/s');
});

test('formatShort', () => {
  assert.equal(formatShort(950), '950');
  assert.equal(formatShort(1500), '1.50 k');
  assert.equal(formatShort(2.5e6), '2.50 M');
});

test('toBigInt / toNumber', () => {
  assert.equal(toBigInt('9007199254740993'), 9007199254740993n);
  assert.equal(toBigInt(42), 42n);
  assert.equal(toBigInt(1.5), 0n);
  assert.equal(toBigInt('x'), 0n);
  assert.equal(toNumber(null), 0);
  assert.equal(toNumber('12'), 12);
});

test('protocolName', () => {
  assert.equal(protocolName(6), 'TCP (6)');
  assert.equal(protocolName(17), 'UDP (17)');
  assert.equal(protocolName(58), 'ICMPv6 (58)');
  assert.equal(protocolName(200), 'proto 200');
});

test('times are UTC', () => {
  assert.equal(formatTime('2026-11-27T13:22:05Z'), '2026-11-27 13:22:05 UTC');
  assert.equal(formatTime('2026-11-27T14:22:05+01:00'), '2026-11-27 13:22:05 UTC');
  assert.equal(formatTime('garbage'), 'garbage');
  assert.equal(rfc3339(Date.UTC(2026, 10, 27, 13, 22, 5, 999)), '2026-11-27T13:22:05Z');
  assert.equal(fileStamp(Date.UTC(2026, 0, 2, 3, 4, 5)), '20260102T030405Z');
});

test('formatDuration', () => {
  assert.equal(formatDuration(null), '—');
  assert.equal(formatDuration(2), '2 s');
  assert.equal(formatDuration(180), '3 min');
  assert.equal(formatDuration(7500), '2 h 5 min');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3 d 4 h');
});
