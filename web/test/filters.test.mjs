// filters.test.mjs — filter bar parsing against the API's grammar (lib/query/parse.c):
// good and bad inputs, IPv4/IPv6/CIDR edge cases, keywords, canonical output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilterInput, isIPv4, isIPv6, isAddressOrCidr, normalizeFilter, addFilter, MAX_FILTERS } from '../src/filters.js';

const good = [
  ['10.0.0.0/8', 'src_ip=10.0.0.0/8'],
  ['  10.0.0.0/8  ', 'src_ip=10.0.0.0/8'],
  ['192.168.1.1', 'src_ip=192.168.1.1'],
  ['0.0.0.0', 'src_ip=0.0.0.0'],
  ['255.255.255.255', 'src_ip=255.255.255.255'],
  ['0.0.0.0/0', 'src_ip=0.0.0.0/0'],
  ['10.1.2.3/32', 'src_ip=10.1.2.3/32'],
  ['10.1.2.3/31', 'src_ip=10.1.2.3/31'],
  ['10.1.2.3/24', 'src_ip=10.1.2.3/24'],
  ['::', 'src_ip=::'],
  ['::/0', 'src_ip=::/0'],
  ['::1', 'src_ip=::1'],
  ['::1/128', 'src_ip=::1/128'],
  ['2001:db8::/32', 'src_ip=2001:db8::/32'],
  ['2001:DB8::1', 'src_ip=2001:db8::1'],
  ['fe80::1', 'src_ip=fe80::1'],
  ['1:2:3:4:5:6:7:8', 'src_ip=1:2:3:4:5:6:7:8'],
  ['1::8', 'src_ip=1::8'],
  ['1:2:3:4:5:6:7::', 'src_ip=1:2:3:4:5:6:7::'],
  ['::2:3:4:5:6:7:8', 'src_ip=::2:3:4:5:6:7:8'],
  ['::ffff:10.0.0.1', 'src_ip=::ffff:10.0.0.1'],
  ['::ffff:10.0.0.0/104', 'src_ip=::ffff:10.0.0.0/104'],
  ['::10.0.0.1', 'src_ip=::10.0.0.1'],
  ['64:ff9b::192.0.2.33', 'src_ip=64:ff9b::192.0.2.33'],
  ['1:2:3:4:5:6:1.2.3.4', 'src_ip=1:2:3:4:5:6:1.2.3.4'],
  ['0000:0000:0000:0000:0000:0000:0000:0001', 'src_ip=0000:0000:0000:0000:0000:0000:0000:0001'],
  ['443', 'dst_port=443'],
  ['0', 'dst_port=0'],
  ['65535', 'dst_port=65535'],
  ['0443', 'dst_port=443'],
  ['tcp', 'protocol=tcp'],
  ['TCP', 'protocol=tcp'],
  ['Udp', 'protocol=udp'],
  ['icmp', 'protocol=icmp'],
  ['icmpv6', 'protocol=icmpv6'],
  ['gre', 'protocol=gre'],
  ['esp', 'protocol=esp'],
  ['sctp', 'protocol=sctp'],
  ['proto 6', 'protocol=6'],
  ['proto 255', 'protocol=255'],
  ['protocol 0', 'protocol=0'],
  ['protocol=17', 'protocol=17'],
  ['protocol tcp', 'protocol=tcp'],
  ['src 10.0.0.1', 'src_ip=10.0.0.1'],
  ['dst 10.0.0.1', 'dst_ip=10.0.0.1'],
  ['DST 10.0.0.0/16', 'dst_ip=10.0.0.0/16'],
  ['source 1.1.1.1', 'src_ip=1.1.1.1'],
  ['destination 2001:db8::/48', 'dst_ip=2001:db8::/48'],
  ['src_ip=10.0.0.0/8', 'src_ip=10.0.0.0/8'],
  ['dst_ip=10.1.0.0/16', 'dst_ip=10.1.0.0/16'],
  ['src_addr=1.2.3.4', 'src_ip=1.2.3.4'],
  ['dst_addr=1.2.3.4', 'dst_ip=1.2.3.4'],
  ['exporter 10.1.1.1', 'exporter=10.1.1.1'],
  ['exporter=10.1.1.0/24', 'exporter=10.1.1.0/24'],
  ['exporter_ip=127.0.0.10', 'exporter=127.0.0.10'],
  ['exporter ::1', 'exporter=::1'],
  ['in_if 3', 'in_if=3'],
  ['in_if=0', 'in_if=0'],
  ['out_if 4', 'out_if=4'],
  ['out_if 4294967295', 'out_if=4294967295'],
  ['src_as 65000', 'src_as=65000'],
  ['dst_as 4200000000', 'dst_as=4200000000'],
  ['port 80', 'dst_port=80'],
  ['dport 53', 'dst_port=53'],
  ['sport 1024', 'src_port=1024'],
  ['src_port=22', 'src_port=22'],
  ['dst_port=8080', 'dst_port=8080'],
  ['dst_port: 8080', 'dst_port=8080'],
  ['src_ip = 10.0.0.1', 'src_ip=10.0.0.1'],
];

const bad = [
  '', '   ', 'hello', 'tcpx', '65536', '99999', '-1', '+80', '1.5', '1e3',
  '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '1.2.3.4/33', '1.2.3.4/-1',
  '1.2.3.4/', '1.2.3.4/08', '1.2.3.4/8/8', '1.2.3.4 /8', ' 1.2.3.a', '1..2.3', '.1.2.3',
  '1.2.3.4.', '1:2:3:4:5:6:7:8:9', '1::2::3', ':::', ':1::', '1:::2', 'gggg::1', '12345::1',
  '::/129', '::1/1280', '2001:db8::/', 'fe80::1%eth0', '[::1]', '1:2:3:4:5:6:7:1.2.3.4',
  '::ffff:256.0.0.1', '::1.2.3', '1:2:3:4:5:6:7', 'proto 256', 'proto foo', 'protocol -1',
  'port 65536', 'sport -1', 'dport abc', 'in_if -1', 'in_if 4294967296', 'out_if 1.5',
  'src_as 99999999999', 'src 10.0.0.256', 'dst foo', 'exporter tcp', 'exporter 443',
  'time 5', 'timestamp=1', 'foo=1', 'bytes 100', 'src_ip=', 'src_ip=10.0.0.1,dst_port=80',
  'src 10.0.0.1 extra', '10.0.0.1 10.0.0.2', 'src_ip==1.2.3.4', 'a'.repeat(201), 'dst_port=4 43',
  'in_if', 'tcp udp',
];

for (const [input, want] of good) {
  test(`accepts ${JSON.stringify(input)} → ${want}`, () => {
    assert.deepEqual(parseFilterInput(input), { ok: true, filter: want });
  });
}
for (const input of bad) {
  test(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
    const r = parseFilterInput(input);
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.equal(typeof (/** @type {any} */ (r).error), 'string');
    assert.ok(/** @type {any} */ (r).error.length > 0);
  });
}

test('enough cases', () => {
  assert.ok(good.length + bad.length >= 100, `${good.length + bad.length}`);
});

test('isIPv4 / isIPv6 / isAddressOrCidr directly', () => {
  assert.equal(isIPv4('1.2.3.4'), true);
  assert.equal(isIPv4('1.2.3.4 '), false);
  assert.equal(isIPv6('::'), true);
  assert.equal(isIPv6('1.2.3.4'), false);
  assert.equal(isIPv6('a:b:c:d:e:f:1.2.3.4'), true);
  assert.equal(isIPv6('a:b:c:d:e:f:a:1.2.3.4'), false);
  assert.equal(isAddressOrCidr('10.0.0.0/0'), true);
  assert.equal(isAddressOrCidr('::/128'), true);
  assert.equal(isAddressOrCidr('1.2.3.4/32'), true);
  assert.equal(isAddressOrCidr('1.2.3.4/33'), false);
});

test('the error names the problem', () => {
  assert.match(/** @type {any} */ (parseFilterInput('port 70000')).error, /0\.\.65535/);
  assert.match(/** @type {any} */ (parseFilterInput('proto xyz')).error, /tcp, udp/);
  assert.match(/** @type {any} */ (parseFilterInput('bogus 1')).error, /Unknown field "bogus"/);
});

test('normalizeFilter takes API filter strings only', () => {
  assert.equal(normalizeFilter('src_ip=10.0.0.0/8'), 'src_ip=10.0.0.0/8');
  assert.equal(normalizeFilter('dst_addr=10.0.0.1'), 'dst_ip=10.0.0.1');
  assert.equal(normalizeFilter('protocol=TCP'), 'protocol=tcp');
  assert.equal(normalizeFilter('dst_port=0080'), 'dst_port=80');
  assert.equal(normalizeFilter('src=10.0.0.1'), null, 'keywords are for typing, not URLs');
  assert.equal(normalizeFilter('dst_port=80,src_port=1'), null);
  assert.equal(normalizeFilter('dst_port=99999'), null);
  assert.equal(normalizeFilter('dst_port'), null);
  assert.equal(normalizeFilter('time=1'), null);
});

test('addFilter: no duplicates, at most MAX_FILTERS, new array', () => {
  const a = ['dst_port=80'];
  const b = addFilter(a, 'dst_port=80');
  assert.deepEqual(b, ['dst_port=80']);
  assert.notEqual(a, b);
  assert.deepEqual(addFilter(a, 'protocol=tcp'), ['dst_port=80', 'protocol=tcp']);
  const full = Array.from({ length: MAX_FILTERS }, (_, i) => `in_if=${i}`);
  assert.equal(addFilter(full, 'out_if=1').length, MAX_FILTERS);
});
