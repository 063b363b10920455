// file_fetch.mjs — a fetch() for file:// URLs (GET with or without Range, HEAD), so readers
// written for HTTP object stores (icebird, hyparquet) read a local Iceberg warehouse. Other
// URLs go to the real fetch. Installed by importing this module.
import { open, readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const realFetch = globalThis.fetch

async function fileFetch(input, init = {}) {
  const url = typeof input === 'string' ? input : input.url
  if (!url.startsWith('file://')) return realFetch(input, init)
  const path = fileURLToPath(url)
  let st
  try {
    st = await stat(path)
  } catch {
    return new Response(null, { status: 404, statusText: 'Not Found' })
  }
  const method = (init.method || 'GET').toUpperCase()
  const headers = new Headers(init.headers)
  if (method === 'HEAD') {
    return new Response(null, { status: 200, headers: { 'content-length': String(st.size) } })
  }
  const range = headers.get('Range')
  const m = range && /^bytes=(\d+)-(\d*)$/.exec(range)
  if (!m) return new Response(await readFile(path), { status: 200 })
  const start = Number(m[1])
  const end = m[2] === '' ? st.size - 1 : Math.min(Number(m[2]), st.size - 1)
  const fh = await open(path, 'r')
  try {
    const buf = Buffer.alloc(Math.max(0, end - start + 1))
    await fh.read(buf, 0, buf.length, start)
    return new Response(buf, {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${st.size}` },
    })
  } finally {
    await fh.close()
  }
}

globalThis.fetch = fileFetch
