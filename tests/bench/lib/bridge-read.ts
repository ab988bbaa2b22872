import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { get } from 'node:http'
import type { Readable } from 'node:stream'
import { spawnNode, stopProcess } from './bridge-process'

const TIMEOUT_MS = 120_000

/** Bytes read and wall time of one read. */
export interface ReadResult { bytes: number, ms: number, sha256?: string }

async function drain (stream: Readable, started: number, hash: boolean): Promise<ReadResult> {
  const h = hash ? createHash('sha256') : undefined
  let bytes = 0
  for await (const piece of stream as AsyncIterable<Buffer>) {
    bytes += piece.byteLength
    h?.update(piece)
  }
  return { bytes, ms: performance.now() - started, sha256: h?.digest('hex') }
}

/**
 * `GET url` with node:http (less overhead per piece than fetch, so the
 * server is what is measured), the body counted and dropped — or hashed
 * with `hash`. Expects 200.
 */
export async function readUrl (url: string, options: { hash?: boolean } = {}): Promise<ReadResult> {
  const started = performance.now()
  const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const req = get(url, resolve)
    req.setTimeout(TIMEOUT_MS, () => { req.destroy(new Error(`GET ${url} timed out`)) })
    req.once('error', reject)
  })
  if (response.statusCode !== 200) {
    response.resume()
    throw new Error(`GET ${url} answered ${response.statusCode}`)
  }
  return await drain(response, started, options.hash ?? false)
}

/** The whole file through fs.createReadStream (its defaults), counted and dropped. */
export async function readFileStream (path: string): Promise<ReadResult> {
  const started = performance.now()
  return await drain(createReadStream(path), started, false)
}

/** A minimal HTTP server in a child process of its own (like the bridge): `GET /` answers the whole file, fs.createReadStream piped into the response. */
const PLAIN_SERVER = `
const { createServer } = require('node:http')
const { createReadStream, statSync } = require('node:fs')
const path = process.argv[1]
const server = createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': statSync(path).size })
  createReadStream(path).pipe(res)
})
server.listen(0, '127.0.0.1', () => { console.log('listening ' + server.address().port) })
process.once('SIGTERM', () => { server.close(); server.closeAllConnections() })
`

export async function startPlainFileServer (path: string): Promise<{ url: string, stop(): Promise<void> }> {
  const p = spawnNode(['-e', PLAIN_SERVER, path])
  try {
    const { match } = await p.line(/^listening (\d+)$/)
    return { url: `http://127.0.0.1:${match[1]}/`, stop: async () => { await stopProcess(p) } }
  } catch (err) {
    await stopProcess(p)
    throw err
  }
}
