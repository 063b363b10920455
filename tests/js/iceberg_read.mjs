// iceberg_read.mjs TABLE_DIR [--snapshot ID] — an independent reader of our Iceberg tables:
// icebird finds the metadata (version-hint.text), walks manifest list and manifests (its own
// Avro decoder and sequence-number inheritance), and hyparquet reads the data files. Nothing
// of ours is involved, so what it prints is what any Iceberg reader would see.
//
// Prints one JSON object: snapshot, operation, files, rows, bytes, packets (decimal strings),
// exporters [{address, flows, bytes, packets}] sorted by address, and days {YYYY-MM-DD: rows}.
// Fails (exit 1) when a file's row count differs from its manifest entry, when a Parquet
// column's field id differs from the table schema's, or when an entry is malformed.
import './file_fetch.mjs'
import { pathToFileURL } from 'node:url'
import { icebergManifests, icebergMetadata } from 'icebird'
import { parquetMetadataAsync, parquetReadObjects, asyncBufferFromUrl } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

function die(msg) {
  console.error(`iceberg_read: ${msg}`)
  process.exit(1)
}

const args = process.argv.slice(2)
if (args.length < 1) die('usage: iceberg_read.mjs TABLE_DIR [--snapshot ID]')
const tableUrl = pathToFileURL(args[0]).href.replace(/\/$/, '')
const metadata = await icebergMetadata({ tableUrl })
const si = args.indexOf('--snapshot')
if (si >= 0) {
  const want = BigInt(args[si + 1])
  const s = metadata.snapshots.find(x => BigInt(x['snapshot-id']) === want)
  if (!s) die(`no snapshot ${want}`)
  metadata['current-snapshot-id'] = s['snapshot-id']
}
const snapId = metadata['current-snapshot-id']
const out = { snapshot: String(snapId ?? ''), operation: '', files: 0, rows: '0', bytes: '0',
              packets: '0', exporters: [], days: {} }
if (snapId === undefined || snapId === null || snapId < 0) {
  console.log(JSON.stringify(out))
  process.exit(0)
}
out.operation = metadata.snapshots.find(s => s['snapshot-id'] === snapId).summary.operation
const schema = metadata.schemas.find(s => s['schema-id'] === metadata['current-schema-id'])
const idOf = Object.fromEntries(schema.fields.map(f => [f.name, f.id]))

const manifests = await icebergManifests(metadata)
let rows = 0n, bytes = 0n, packets = 0n
const exporters = new Map()
for (const { entries } of manifests) {
  for (const e of entries) {
    if (e.status === 2) continue
    if (e.data_file.content) die('delete files are not expected in this table')
    const df = e.data_file
    const file = await asyncBufferFromUrl({ url: df.file_path, byteLength: Number(df.file_size_in_bytes) })
    const meta = await parquetMetadataAsync(file)
    for (const el of meta.schema.slice(1)) {
      if (idOf[el.name] === undefined) die(`${df.file_path}: column ${el.name} is not in the table schema`)
      if (el.field_id !== idOf[el.name]) die(`${df.file_path}: column ${el.name} has field id ${el.field_id}, schema says ${idOf[el.name]}`)
    }
    const recs = await parquetReadObjects({ file, metadata: meta, columns: ['bytes', 'packets', 'exporter_ip', 'timestamp'], compressors })
    if (BigInt(recs.length) !== BigInt(df.record_count)) die(`${df.file_path}: ${recs.length} rows, manifest says ${df.record_count}`)
    out.files++
    for (const r of recs) {
      rows++
      bytes += BigInt(r.bytes)
      packets += BigInt(r.packets)
      let x = exporters.get(r.exporter_ip)
      if (!x) exporters.set(r.exporter_ip, (x = { flows: 0n, bytes: 0n, packets: 0n }))
      x.flows++
      x.bytes += BigInt(r.bytes)
      x.packets += BigInt(r.packets)
      const day = new Date(r.timestamp).toISOString().slice(0, 10)
      out.days[day] = (out.days[day] || 0) + 1
    }
  }
}
out.rows = String(rows)
out.bytes = String(bytes)
out.packets = String(packets)
out.exporters = [...exporters.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  .map(([address, x]) => ({ address, flows: String(x.flows), bytes: String(x.bytes), packets: String(x.packets) }))
console.log(JSON.stringify(out))
