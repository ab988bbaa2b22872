import { copyFile, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises'
import { request, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Libp2p } from 'libp2p'
import { TrackerRegistry } from '@core/protocols/tracker/registry'
import { Catalogue } from '../../relay/catalogue'
import { CatalogueEvents, createHttpApp, type CatalogueEventsInit, type HttpAppDeps } from '../../relay/http/index'
import { Library } from '../../relay/library/index'
import { createRelayMetrics, type RelayMetrics } from '../../relay/metrics'
import { createHolderCheck, PublishedCatalogue } from '../../relay/published/index'
import type { PublishLimits } from '../../relay/published/limits'
import type { TestContent } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startHolder, type Holder } from '../helpers/relay'

export const SAMPLE = fileURLToPath(new URL('../../library/sample.mp4', import.meta.url))
export const SEEK_FIXTURE = fileURLToPath(new URL('../fixtures/seek-long.mp4', import.meta.url))

export interface TestRelay {
  url: string
  port: number
  /** The library folder (a temporary copy with sample.mp4 in it). */
  dir: string
  webRoot: string
  /** The relay's data folder (published.json, published/). */
  dataDir: string
  library: Library
  registry: TrackerRegistry
  published: PublishedCatalogue
  catalogue: Catalogue
  events: CatalogueEvents
  metrics: RelayMetrics
  logs: string[]
  /** What the published catalogue reported (malformed files). */
  warnings: string[]
  /** The relay's libp2p side: the node that asks publishers for chunks (`POST /publish`). */
  node: Libp2p
  /**
   * A real peer (libp2p over loopback TCP, the chunk protocol over a memory
   * store) holding `contents` (`indexes`: only those chunks), connected to
   * the relay's node: what `POST /publish` names as `peerId`. Stopped by close().
   */
  holder(contents: TestContent[], indexes?: number[]): Promise<Holder>
  close(): Promise<void>
}

export type { Holder }

/** Limits loose enough for tests that publish a lot from 127.0.0.1; the tests of the limits set their own. */
export const LOOSE_PUBLISH_LIMITS: PublishLimits = { requestsPerMinutePerAddress: 10_000, publishesPerDayPerAddress: 10_000, publishesPerDayPerPeer: 10_000 }

export interface StartOptions {
  maxUploadBytes?: number
  /** More files to put in the library before it opens. */
  files?: Record<string, Uint8Array>
  relayInfo?: HttpAppDeps['relayInfo']
  /** Clock of the tracker registry and the published catalogue. */
  now?: () => number
  publishedGraceMs?: number
  maxPublished?: number
  events?: Omit<CatalogueEventsInit, 'catalogue'>
  /** `POST /publish` limits (default LOOSE_PUBLISH_LIMITS). */
  publishLimits?: PublishLimits
  /** Upload origins, quotas and disk budget; default: none that a test of something else would reach. */
  uploadLimits?: HttpAppDeps['uploadLimits']
}

/** Limits no test of anything but the limits reaches (one address, 127.0.0.1, makes every upload). */
export const ROOMY_UPLOAD_LIMITS: NonNullable<HttpAppDeps['uploadLimits']> = {
  allowOrigins: [],
  quota: { concurrent: 1000, perHour: 100_000, bytesPerHour: 2 ** 50, bytesPerDay: 2 ** 50 },
  maxLibraryBytes: 2 ** 50
}

/** A real app over a real library in a temporary folder, listening on 127.0.0.1:0. */
export async function startRelay (options: StartOptions = {}): Promise<TestRelay> {
  const root = await mkdtemp(join(tmpdir(), 'pipbingo-relay-'))
  const dir = join(root, 'library')
  const webRoot = join(root, 'web')
  const dataDir = join(root, 'data')
  await mkdir(dir)
  await mkdir(webRoot)
  await copyFile(SAMPLE, join(dir, 'sample.mp4'))
  for (const [name, bytes] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), bytes)
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>pipbingo test page</title>')
  const library = await Library.open({ dir })
  const registry = new TrackerRegistry({ now: options.now })
  const warnings: string[] = []
  const published = await PublishedCatalogue.open({
    dataDir,
    graceMs: options.publishedGraceMs ?? 24 * 60 * 60_000,
    maxEntries: options.maxPublished ?? 1000,
    now: options.now,
    onWarning: message => { warnings.push(message) }
  })
  const catalogue = new Catalogue({ library, published, registry })
  const events = new CatalogueEvents({ catalogue, ...options.events })
  const metrics = createRelayMetrics({
    peersConnected: () => 3,
    reservations: () => 2,
    trackerEntries: () => 5,
    libraryVideos: () => library.size,
    publishedVideos: () => published.size
  }, { defaultMetrics: false })
  const logs: string[] = []
  const node = await createTestNode()
  const holders: Holder[] = []
  const app = createHttpApp({
    library,
    catalogue,
    events,
    metrics,
    webRoot,
    maxUploadBytes: options.maxUploadBytes ?? 64 * 1024 * 1024,
    uploadLimits: options.uploadLimits ?? ROOMY_UPLOAD_LIMITS,
    logger: msg => { logs.push(msg) },
    relayInfo: options.relayInfo,
    publish: {
      checkHolder: createHolderCheck({ getConnections: peer => node.getConnections(peer) }),
      limits: options.publishLimits ?? LOOSE_PUBLISH_LIMITS,
      now: options.now
    }
  })
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', err => { if (err != null) reject(err); else resolve(s) })
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    webRoot,
    dataDir,
    library,
    registry,
    published,
    catalogue,
    events,
    metrics,
    logs,
    warnings,
    node,
    async holder (contents, indexes) {
      const holder = await startHolder(node.getMultiaddrs(), contents, indexes)
      holders.push(holder)
      return holder
    },
    async close () {
      for (const h of holders.splice(0)) await h.stop()
      await node.stop()
      events.close()
      catalogue.stop()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
      await published.close()
      await library.close()
      await rm(root, { recursive: true, force: true })
    }
  }
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/**
 * A request whose path goes on the wire exactly as given (fetch and URL
 * would normalise `%2e%2e/` and `../`).
 */
export async function rawRequest (port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

export function json (res: RawResponse): unknown {
  return JSON.parse(res.body.toString('utf8'))
}

/** Current value of a metric (no labels) from `GET /metrics`. */
export async function metricValue (relay: TestRelay, name: string): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text()
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  if (match == null) throw new Error(`metric ${name} not found`)
  return Number(match[1])
}

/** Names in the library folder (files only, no dot-folder) and in the uploads folder. */
export async function folderState (relay: TestRelay): Promise<{ library: string[], uploads: string[] }> {
  const library = (await readdir(relay.dir)).filter(n => !n.startsWith('.')).sort()
  const uploads = (await readdir(relay.library.uploadsDir)).sort()
  return { library, uploads }
}

/**
 * Raw path segments, sent as is. Every one must be refused with 400 JSON on
 * every route that takes a filename, and nothing outside the catalogue served.
 */
export const HOSTILE_SEGMENTS = [
  '..%2fx',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f',
  '%2e%2e%2fsample.mp4',
  '%2e%2e',
  '..',
  '.',
  '../x',
  '../../etc/passwd',
  'a/b',
  'a%2fb',
  '..%5cx',
  '%5c..%5csample.mp4',
  '%00',
  'sample.mp4%00',
  'a%00b.mp4',
  '%0a',
  'a'.repeat(300),
  '.pipbingo',
  '.pipbingo%2fscan-cache.json',
  '.pipbingo/scan-cache.json',
  '.pipbingo/manifests',
  '%2epipbingo',
  '%zz',
  '%',
  '%20sample.mp4'
]

/** How many file descriptors of this process are open on `path` (Linux /proc). */
export async function openDescriptors (path: string): Promise<number> {
  let n = 0
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      if (await readlink(`/proc/self/fd/${fd}`) === path) n++
    } catch {} // closed meanwhile
  }
  return n
}
