// avro_check.js — strict check of Avro object-container files (Iceberg manifests and manifest
// lists) with avsc, a reader independent of libavro and of our own.
//
//   node tests/js/avro_check.js FILE...
//
// For each file: the container is walked by hand (magic, header map, sync marker, every
// block's count and byte size, sync after each block, nothing after the last block), each
// block is inflated (codec null or deflate) and its records are decoded with avsc's
// Type.forSchema(header schema): every record must decode, be valid for the type, and the
// records must use up the block exactly. The header schema must carry Iceberg's ids: a
// `field-id` on every record field, an `element-id` on every array (except the arrays of
// {key, value} records with logicalType "map", whose key and value fields carry field ids),
// `key-id`/`value-id` on Avro maps. Prints "FILE: N records" and each record as a JSON line
// (bytes as hex); exits 1 on the first problem, naming file and place.
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const avsc = require('avsc');

class CheckError extends Error {}

// Avro longs as BigInt: avsc's default long refuses values beyond ±(2^53 - 2), but the file
// format allows the whole int64 range (snapshot ids go up to 2^53 - 1).
const bigLong = avsc.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(n));
    return b;
  },
  fromJSON: (v) => BigInt(v),
  toJSON: (n) => n.toString(),
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
});

function fail(msg) {
  throw new CheckError(msg);
}

// Cursor over a Buffer with Avro's zig-zag varint longs.
class Cursor {
  constructor(buf, pos) {
    this.buf = buf;
    this.pos = pos || 0;
  }
  left() {
    return this.buf.length - this.pos;
  }
  long(what) {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) fail(`truncated ${what} at offset ${this.pos}`);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (!(b & 0x80)) {
        const v = (result >> 1n) ^ -(result & 1n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
          fail(`${what} ${v} out of range`);
        }
        return Number(v);
      }
    }
    fail(`varint too long in ${what}`);
  }
  bytes(what) {
    const n = this.long(`${what} length`);
    if (n < 0 || n > this.left()) fail(`${what}: length ${n} with ${this.left()} bytes left`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  take(n, what) {
    if (n > this.left()) fail(`truncated ${what}`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

// Iceberg id attributes on every field, array and map of the schema.
function checkIds(schema, where) {
  if (Array.isArray(schema)) {
    schema.forEach((s, i) => checkIds(s, `${where}[${i}]`));
    return;
  }
  if (typeof schema !== 'object' || schema === null) return;
  switch (schema.type) {
    case 'record':
      for (const f of schema.fields) {
        if (!Number.isInteger(f['field-id'])) fail(`${where}.${f.name}: no field-id`);
        checkIds(f.type, `${where}.${f.name}`);
      }
      break;
    case 'array': {
      const items = schema.items;
      const isMap =
        schema.logicalType === 'map' && typeof items === 'object' && items.type === 'record' &&
        items.fields.length === 2 && items.fields[0].name === 'key' &&
        items.fields[1].name === 'value';
      if (!isMap && !Number.isInteger(schema['element-id'])) fail(`${where}: array without element-id`);
      checkIds(items, `${where}[]`);
      break;
    }
    case 'map':
      if (!Number.isInteger(schema['key-id']) || !Number.isInteger(schema['value-id'])) {
        fail(`${where}: map without key-id/value-id`);
      }
      checkIds(schema.values, `${where}{}`);
      break;
    default:
      break;
  }
}

function toJson(value) {
  return JSON.stringify(value, (k, v) => {
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) return Buffer.from(v.data).toString('hex');
    if (typeof v === 'bigint') {
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    return v;
  });
}

function checkFile(path) {
  const buf = fs.readFileSync(path);
  const c = new Cursor(buf);
  if (buf.length < 4 || !buf.subarray(0, 4).equals(Buffer.from([0x4f, 0x62, 0x6a, 0x01]))) {
    fail('bad magic');
  }
  c.pos = 4;
  const meta = new Map();
  for (;;) {
    let count = c.long('header block count');
    if (count === 0) break;
    if (count < 0) {
      c.long('header block size');
      count = -count;
    }
    for (let i = 0; i < count; i++) {
      const key = c.bytes('header key').toString('utf8');
      if (meta.has(key)) fail(`duplicate header key ${key}`);
      meta.set(key, c.bytes(`header value ${key}`));
    }
  }
  const sync = c.take(16, 'sync marker');
  const codec = meta.has('avro.codec') ? meta.get('avro.codec').toString() : 'null';
  if (codec !== 'null' && codec !== 'deflate') fail(`codec ${codec}`);
  if (!meta.has('avro.schema')) fail('no avro.schema');
  const schema = JSON.parse(meta.get('avro.schema').toString('utf8'));
  checkIds(schema, schema.name || 'schema');
  const type = avsc.Type.forSchema(schema, {registry: {long: bigLong}});
  const records = [];
  let block = 0;
  while (c.left() > 0) {
    const count = c.long(`block ${block} count`);
    if (count < 0) fail(`block ${block}: negative count`);
    let data = c.bytes(`block ${block}`);
    if (!c.take(16, `block ${block} sync`).equals(sync)) fail(`block ${block}: sync marker mismatch`);
    if (codec === 'deflate') data = zlib.inflateRawSync(data);
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const r = type.decode(data, pos);
      if (r.offset < 0) fail(`block ${block} record ${i}: does not decode`);
      if (!type.isValid(r.value)) fail(`block ${block} record ${i}: invalid value`);
      records.push(r.value);
      pos = r.offset;
    }
    if (pos !== data.length) fail(`block ${block}: ${data.length - pos} bytes after its records`);
    block++;
  }
  return {records, meta};
}

function main(files) {
  if (files.length === 0) {
    console.error('usage: node avro_check.js FILE...');
    return 2;
  }
  let status = 0;
  for (const path of files) {
    try {
      const {records} = checkFile(path);
      console.log(`${path}: ${records.length} records`);
      for (const r of records) console.log(toJson(r));
    } catch (err) {
      console.error(`${path}: ${err instanceof CheckError ? err.message : err.stack}`);
      status = 1;
    }
  }
  return status;
}

// exitCode, not process.exit(): exiting at once would cut output still queued for a pipe.
process.exitCode = main(process.argv.slice(2));
