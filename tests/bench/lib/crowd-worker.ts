/**
 * A child process of the flash-crowd suite (spawned by crowd.ts): a few bench
 * peers in one process, each a libp2p node on loopback TCP with its own
 * FsChunkStore and announcer (startBenchPeer), driven over the IPC channel.
 * A peer joins when told: a SwarmSession as a client runs it (the relay's
 * tracker as locator, or the tracker and the DHT with `dht`; the origin's
 * HTTP fallback when given; a download:
 * `urgentOrigin` off), watched from outside — the chunks it took from the
 * origin and the policy's reason at the time, the tracker's answers, its
 * dials. It exits when its channel closes (the parent is gone) and at its
 * own deadline, whatever it is doing.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import type { ContentId } from '@core/content/manifest'
import { CombinedLocator } from '@core/routing/combined'
import type { ContentLocator } from '@core/routing/types'
import { DialStats, type DialRecord } from '@core/swarm/dial-stats'
import { HttpChunkSource } from '@core/swarm/http-source'
import { SwarmSession, type ChunkEvent } from '@core/swarm/session'
import type { FindAnswer, OriginChunk, ParentMessage, PeerReport, Verified, WorkerInit, WorkerMessage } from './crowd'
import { sha256OfFile } from './files'
import { startBenchPeer, type BenchPeer } from './peer'

const send = (m: WorkerMessage): void => { process.send?.(m) }

// the parent is gone (however it ended): so is this process
process.on('disconnect', () => process.exit(70))
// a bridge logs an unhandled rejection and keeps running; so do these peers, counted
let unhandled = 0
process.on('unhandledRejection', (err: any) => {
  unhandled++
  process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`)
})

interface Running {
  peer: BenchPeer
  session?: SwarmSession
  done: boolean
}

let init: WorkerInit | undefined
const peers = new Map<string, Running>()
/** How late this process's event loop runs once peers join: ten peers share one thread here. */
const delay = monitorEventLoopDelay({ resolution: 20 })
let joined = false

process.on('message', (m: ParentMessage) => {
  handle(m).catch((err: any) => { send({ type: 'error', index: init?.index ?? -1, message: String(err?.stack ?? err) }) })
})

async function handle (m: ParentMessage): Promise<void> {
  switch (m.type) {
    case 'init': await setup(m); return
    case 'join': {
      const running = peers.get(m.name)
      if (running == null) throw new Error(`no peer ${m.name} here`)
      if (!joined) {
        joined = true
        delay.enable()
      }
      setTimeout(() => { join(m.name, running, m.at).catch((err: any) => { send({ type: 'error', index: init!.index, message: `${m.name}: ${err?.stack ?? err}` }) }) }, Math.max(0, m.at - Date.now()))
      return
    }
    case 'verify': await verify(); return
    case 'status': send({ type: 'status', index: init?.index ?? -1, lines: status() }); return
    case 'stop': await stop(); return
  }
}

async function setup (m: WorkerInit): Promise<void> {
  init = m
  setTimeout(() => {
    process.stderr.write('the crowd process reached its deadline: exiting\n')
    process.exit(71)
  }, Math.max(0, m.deadlineAt - Date.now())).unref()
  // the parent tells progress from these: chunks held by this process's peers
  setInterval(() => {
    let chunks = 0
    for (const { session } of peers.values()) chunks += session?.have.count() ?? 0
    send({ type: 'progress', index: m.index, chunks })
  }, 5000).unref()
  const started = performance.now()
  const tracker = multiaddr(m.tracker)
  const specs = [...m.peers]
  await Promise.all(Array.from({ length: Math.max(1, m.startConcurrency ?? 1) }, async () => {
    for (let spec = specs.shift(); spec != null; spec = specs.shift()) {
      const peer = await startBenchPeer(tracker, spec.dir, spec.name, { inboundConnectionThreshold: m.inboundConnectionThreshold, dht: m.dht })
      peers.set(spec.name, { peer, done: false })
      // a bridge is connected to its relay before it downloads anything
      await dialRelay(peer)
    }
  }))
  send({ type: 'ready', index: m.index, peers: [...peers].map(([name, r]) => ({ name, peerId: r.peer.node.peerId.toString() })), setupMs: performance.now() - started })
}

/**
 * The relay's libp2p accepts 5 inbound connections per second per host
 * (libp2p's default inboundConnectionThreshold), and here every peer is
 * 127.0.0.1: a refused dial is tried again, outside any measurement.
 */
async function dialRelay (peer: BenchPeer): Promise<void> {
  const tracker = multiaddr(init!.tracker)
  for (let attempt = 1; ; attempt++) {
    try {
      await peer.node.dial(tracker, { signal: AbortSignal.timeout(10_000) })
      return
    } catch (err) {
      if (attempt >= 40) throw err
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
}

async function join (name: string, running: Running, scheduledAt: number): Promise<void> {
  const m = init!
  const { peer } = running
  const joinedAt = Date.now()
  const since = (): number => Date.now() - joinedAt
  const finds: FindAnswer[] = []
  // the peer's own locator (the tracker, or the tracker and the DHT), its answers recorded
  const asked = peer.locator
  // as a bridge learns it from its relay's catalogue: the relay whose library holds the file is its origin
  if (asked instanceof CombinedLocator) asked.originOf(m.contentId, m.relayId)
  const locator: ContentLocator = {
    announce: async (entries, options) => { await asked.announce(entries, options) },
    withdraw: async (ids, options) => { await asked.withdraw(ids, options) },
    findProviders: async (contentId, options) => (await locator.findSwarm!(contentId, options)).providers,
    findSwarm: async (contentId, options) => {
      const found = asked.findSwarm != null ? await asked.findSwarm(contentId, options) : { providers: await asked.findProviders(contentId, options) }
      const unmarked = found.providers.some(p => !p.origin && p.id.toString() === m.relayId)
      finds.push([since(), found.providers.filter(p => !p.origin).length, found.providers.some(p => p.origin), found.members?.length ?? -1, unmarked])
      return found
    }
  }
  let firstPeerConnectedMs: number | undefined
  const dialErrors: Record<string, number> = {}
  const dials = new DialStats()
  const record = dials.record.bind(dials)
  dials.record = (r: DialRecord) => {
    record(r)
    if (r.error != null) {
      const key = r.error.replace(/\/ip4\S+|12D3\w+|\d+ ?ms/g, '…').slice(0, 120)
      dialErrors[key] = (dialErrors[key] ?? 0) + 1
    }
    if (r.outcome === 'direct' && r.peer !== m.relayId && firstPeerConnectedMs == null) firstPeerConnectedMs = r.startedAt + r.ms - joinedAt
  }
  const session = new SwarmSession({
    contentId: m.contentId as ContentId,
    manifest: m.manifest,
    store: peer.store,
    log: logger(`pipbingo:bench:${name}:session`),
    chunks: peer.node.services.chunk,
    locator,
    announcer: peer.announcer,
    parentStats: peer.stats,
    selfId: peer.node.peerId.toString(),
    http: m.http == null ? undefined : new HttpChunkSource(m.http),
    dials
  })
  running.session = session
  const originChunks: OriginChunk[] = []
  session.addEventListener('chunk', (e) => {
    const { index, source, originWhy } = (e as CustomEvent<ChunkEvent>).detail
    if (source === m.relayId || source === 'http') originChunks.push([index, since(), `${session.originDecision().reason}/${originWhy ?? '?'}`, source === 'http' ? 'http' : 'libp2p'])
  })
  await session.start()
  await session.done
  const doneAt = Date.now()
  running.done = true
  await peer.announcer.settled()
  session.stop()
  const s = session.stats
  const d = dials.summary()
  const bySource = Object.fromEntries(Object.entries(s.snapshot().bySource).filter(([id, bytes]) => id !== 'http' && id !== m.relayId && bytes > 0))
  const report: PeerReport = {
    name,
    process: m.index,
    peerId: peer.node.peerId.toString(),
    scheduledAt,
    joinedAt,
    doneAt,
    fromPeers: s.bytesFromPeers - s.bytesFromOriginPeer,
    fromOriginLibp2p: s.bytesFromOriginPeer,
    fromHttp: s.bytesFromHttp,
    discarded: s.bytesDiscarded,
    peerSources: Object.keys(bySource).length,
    bySource,
    timeToFirstPeerByteMs: session.timeToFirstPeerByteMs,
    firstPeerConnectedMs,
    dials: { attempts: d.attempts, direct: d.direct, failed: d.failed, relayed: d.relayed },
    dialErrors,
    finds,
    originChunks
  }
  send({ type: 'done', report })
}

async function verify (): Promise<void> {
  const m = init!
  const results: Verified[] = []
  for (const [name, { peer, done }] of peers) {
    const path = done ? peer.store.pathOf(m.contentId as ContentId) : undefined
    results.push({ name, sha256: path == null ? 'incomplete' : await sha256OfFile(path), uploaded: peer.uploaded.bytes })
  }
  delay.disable()
  const ms = (ns: number): number => Math.round(ns / 1e6)
  send({ type: 'verified', index: m.index, results, unhandled, loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) } })
}

function status (): string[] {
  return [...peers].map(([name, { session, done }]) => {
    if (session == null) return `${name}: not joined`
    if (done) return `${name}: complete`
    const sources = session.sources().map(s => `${s.id === init?.relayId ? 'origin' : s.id.slice(-6)}(${s.kind} ${s.chunks} held, ${s.inFlight} in flight${s.banned ? ', banned' : ''})`)
    return `${name}: ${session.have.count()}/${session.have.length} chunks, why ${session.why() ?? '-'}, sources ${sources.join(' ')}`
  })
}

async function stop (): Promise<void> {
  const timer = setTimeout(() => process.exit(0), 8_000)
  await Promise.allSettled([...peers.values()].map(async ({ peer, session }) => {
    session?.stop()
    await peer.stop()
  }))
  clearTimeout(timer)
  process.exit(0)
}
