import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import type { ContentId } from '@core/content/manifest'
import { DhtLocator } from '@core/routing/dht'
import { writePseudoRandomFile } from '../lib/files'
import { startBenchPeer } from '../lib/peer'
import { fetchManifest, joinBenchRelays, startBenchRelay, type BenchRelay } from '../lib/relay'
import { spread } from '../lib/stats'
import type { BenchContext, Row } from '../types'

/** Distinct videos in relay A's library (each looked up once: no answer comes from a cache) and in relay C's (the baseline's). */
const VIDEOS = 30
/** One chunk each: the lookups are the measurement, not the files. */
const VIDEO_SIZE = 256 * 1024
/** The relays' provider records are findable, and the client's routing table holds its relay, within this (setting up, not measured). */
const READY_MS = 60_000
/** One lookup or tracker find gives up past this (the DHT's own bound is 8 s: DHT_FIND_TIMEOUT_MS). */
const LOOKUP_MS = 15_000

interface LookupRun {
  /** ms of each DHT lookup of one of A's videos, in the order asked. */
  dht: number[]
  /** ms of each tracker find on the client's own relay (C) of one of C's videos. */
  tracker: number[]
  /** DHT answers that did not list relay A, and answers that listed it but not as an origin. */
  missed: number
  unmarked: number
  /** Providers per DHT answer. */
  providers: number[]
}

interface Library { dir: string, filenames: string[] }

/**
 * Row 1 of the relays suite: how long a bridge attached to relay C waits for
 * the DHT to name the holder of a video only relay A's library holds, with
 * the tracker's answer on its own relay as the baseline. Three real relays
 * (createRelay, in the bench's process) joined into one DHT by dialling each
 * other; a fresh client per run (startBenchPeer with `dht`: a DHT client and
 * a tracker client, as a bridge), which asks for 30 distinct videos of A
 * through the DHT alone (DhtLocator.findProviders, what CombinedLocator
 * waits for) and then for 30 of C's through C's tracker.
 */
export async function lookupRows (ctx: BenchContext, suite: string): Promise<Row[]> {
  const dir = await ctx.tempDir('relays-lookup-')
  const libraries: Library[] = []
  for (const [k, name] of ['a', 'b', 'c'].entries()) {
    const libraryDir = join(dir, `library-${name}`)
    await mkdir(libraryDir)
    // B holds a video of its own, so that it is a relay with a library, not an empty hop
    const count = name === 'b' ? 1 : VIDEOS
    const filenames = Array.from({ length: count }, (_, i) => `relay-${name}-${i + 1}.mp4`)
    for (const [i, f] of filenames.entries()) await writePseudoRandomFile(join(libraryDir, f), VIDEO_SIZE, 1100 + k * 100 + i)
    libraries.push({ dir: libraryDir, filenames })
  }
  const runs: LookupRun[] = []
  for (let r = 0; r < ctx.runs; r++) {
    const run = await lookupRun(ctx, libraries, join(dir, `run-${r + 1}`))
    const d = spread(run.dht)
    const t = spread(run.tracker)
    ctx.progress(`${suite} lookups run ${r + 1}/${ctx.runs}: DHT median ${d.median.toFixed(1)} ms (${d.min.toFixed(1)}–${d.max.toFixed(1)}), first ${run.dht[0]!.toFixed(1)} ms; tracker median ${t.median.toFixed(1)} ms; ${run.missed} answers without A, ${run.unmarked} with A not marked as an origin`)
    runs.push(run)
  }
  return [lookupRow(suite, runs)]
}

async function lookupRun (ctx: BenchContext, libraries: Library[], dir: string): Promise<LookupRun> {
  const relays: BenchRelay[] = []
  try {
    for (const [k, library] of libraries.entries()) relays.push(await startBenchRelay(library.dir, join(dir, `relay-${'abc'[k]}`)))
    await joinBenchRelays(relays)
    const [a, , c] = relays as [BenchRelay, BenchRelay, BenchRelay]
    const idsOf = async (relay: BenchRelay, library: Library): Promise<ContentId[]> =>
      await Promise.all(library.filenames.map(async f => (await fetchManifest(relay, f)).contentId))
    const ofA = await idsOf(a, libraries[0]!)
    const ofC = await idsOf(c, libraries[2]!)
    await providedEverywhere(c, ofA, a.relay.node.peerId)

    const client = await startBenchPeer(c.tcpAddr, join(dir, 'client'), 'lookup-client', { dht: true })
    try {
      await client.node.dial(c.tcpAddr, { signal: AbortSignal.timeout(10_000) })
      await routingTableHolds(client.node.services.dht!, c.relay.node.peerId)
      const run: LookupRun = { dht: [], tracker: [], missed: 0, unmarked: 0, providers: [] }
      for (const contentId of ofA) {
        const t0 = performance.now()
        const providers = await client.dht!.findProviders(contentId, { signal: AbortSignal.timeout(LOOKUP_MS) })
        run.dht.push(performance.now() - t0)
        run.providers.push(providers.length)
        const holder = providers.find(p => p.id.equals(a.relay.node.peerId))
        if (holder == null) run.missed++
        else if (!holder.origin) run.unmarked++
      }
      for (const contentId of ofC) {
        const t0 = performance.now()
        const providers = await client.node.services.tracker.findProviders(contentId, { signal: AbortSignal.timeout(LOOKUP_MS) })
        run.tracker.push(performance.now() - t0)
        if (!providers.some(p => p.origin && p.id.equals(c.relay.node.peerId))) throw new Error(`relay C's tracker did not name C as the origin of ${contentId}`)
      }
      if (run.missed === run.dht.length) throw new Error(`no DHT answer named relay A (${run.dht.length} lookups)`)
      return run
    } finally {
      await client.stop()
    }
  } finally {
    for (const relay of relays.reverse()) await relay.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Setting up: relay A's records answer a lookup from relay C for every
 * video (A provides its library when it starts, and again as the DHT
 * renews). C's own lookups: the client has not started yet.
 */
export async function providedEverywhere (asker: BenchRelay, contentIds: ContentId[], holder: PeerId): Promise<void> {
  const node = asker.relay.node
  const locator = new DhtLocator({ dht: node.services.dht, peerId: node.peerId, peerStore: node.peerStore, addresses: () => node.getMultiaddrs(), log: logger('pipbingo:bench:relays:ready') })
  const deadline = Date.now() + READY_MS
  for (const contentId of contentIds) {
    for (;;) {
      const providers = await locator.findProviders(contentId, { signal: AbortSignal.timeout(LOOKUP_MS) })
      if (providers.some(p => p.id.equals(holder))) break
      if (Date.now() > deadline) throw new Error(`relay A's record for ${contentId} was not found from relay C within ${READY_MS / 1000} s`)
      // a record being provided: nothing tells when it is stored, so it is asked again shortly
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
}

/** Resolves once `peer` is in the DHT's routing table (added after identify tells it speaks the DHT), or fails past READY_MS. */
async function routingTableHolds (dht: KadDHT, peer: PeerId): Promise<void> {
  // the implementation's routing table (kad-dht 16: a TypedEventEmitter with `find` and 'peer:add'), not in KadDHT's public type
  const table = (dht as unknown as { routingTable: EventTarget & { find(p: PeerId): Promise<PeerId | undefined> } }).routingTable
  let onAdd: ((e: Event) => void) | undefined
  const added = new Promise<void>(resolve => {
    onAdd = (e) => { if ((e as CustomEvent<PeerId>).detail.equals(peer)) resolve() }
    table.addEventListener('peer:add', onAdd)
  })
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    if (await table.find(peer) != null) return
    await Promise.race([added, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`the client's DHT routing table did not take its relay within ${READY_MS / 1000} s`)) }, READY_MS) })])
  } finally {
    clearTimeout(timer)
    table.removeEventListener('peer:add', onAdd!)
  }
}

function lookupRow (suite: string, runs: LookupRun[]): Row {
  const dht = runs.map(r => spread(r.dht).median)
  const tracker = runs.map(r => spread(r.tracker).median)
  const ratios = spread(dht.map((x, i) => x / tracker[i]!))
  const v = spread(dht)
  const perRun = runs.map((r, i) => {
    const d = spread(r.dht)
    const t = spread(r.tracker)
    return `run ${i + 1}: DHT ${d.min.toFixed(1)}–${d.max.toFixed(1)} ms, first (cold: it meets A and B then) ${r.dht[0]!.toFixed(1)} ms, ${spread(r.providers).median} provider(s) per answer (median), ${r.missed} answer(s) without A, ${r.unmarked} naming A but not as an origin; tracker ${t.min.toFixed(1)}–${t.max.toFixed(1)} ms`
  }).join('; ')
  return {
    suite,
    name: `DHT findProviders across 3 relays: a bridge on relay C asks for a video of relay A's library (median ms)`,
    value: v.median,
    unit: 'ms',
    range: [v.min, v.max],
    runs: v.runs,
    baseline: spread(tracker).median,
    baselineName: '(b) the tracker of the client\'s own relay (C) for a video in C\'s library',
    ratio: ratios.median,
    ratioRange: [ratios.min, ratios.max],
    notes: `Three real relays (createRelay, loopback, in the bench's process; A and C with ${VIDEOS} one-chunk videos each, B with one) joined into one DHT (/pipbingo/kad/1.0.0) by dialling each other, A's records findable from C before the timing starts. Per run, a fresh client as a bridge is (a libp2p node with the DHT as a client, as a bridge on loopback runs it, and a tracker client), connected to relay C only, asks DhtLocator.findProviders (the DHT alone: what CombinedLocator waits for beside the tracker) for ${VIDEOS} distinct videos of A, one after another: each content is asked once, so no answer is a cached one, but the client's routing table and connections are warm after the first lookup (reported apart). The time is the whole call: the lookup ends when the query has asked the closest peers, not at the first provider. Baseline: the same client asks relay C's tracker (findProviders) for ${VIDEOS} videos of C's library. Value and baseline are the medians of each run's ${VIDEOS} lookups (median over runs; range over runs); no target (the issue asks for the figure). Per run: ${perRun}.`
  }
}
