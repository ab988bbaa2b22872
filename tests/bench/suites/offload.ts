import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { swarmDownload } from '../lib/download'
import { writePseudoRandomFile } from '../lib/files'
import { httpDownload } from '../lib/http'
import { startBenchPeer, type BenchPeer } from '../lib/peer'
import { fetchManifest, startBenchRelay } from '../lib/relay'
import { megabytesPerSecond, MiB, spread } from '../lib/stats'
import { formatNumber } from '../table'
import { checkTarget, type BenchContext, type Row, type Target } from '../types'

export const name = 'offload'

const SIZE = 64 * MiB
const PEERS = 5
const FILENAME = 'bench-offload-64mib.mp4'
const TARGET: Target = { of: 'value', op: '<=', limit: 1.2 }

interface PeerShare {
  /** Verified bytes from other peers (not the origin). */
  fromPeers: number
  /** From the origin's libp2p node. */
  fromOriginLibp2p: number
  /** From the origin over HTTP. */
  fromHttp: number
  /** What the relay's /metrics say it served during this peer's download. */
  originServed: number
  /** How many other peers sent it something. */
  peerSources: number
  mbps: number
}

/**
 * Row 2: how much of the origin's work the swarm takes over. A real relay
 * holds a 64 MiB video; 5 Node peers (tracker = the relay, HTTP fallback on,
 * as a client has it) join one after another — peer k starts once peer k−1
 * completed and its announcement settled — and stay online seeding. The
 * figure is what the origin served over all paths (relay /metrics, libp2p +
 * HTTP) divided by the file size. Baseline: the same 5 downloads as plain
 * HTTP GETs, measured the same way in the same run.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('offload-')
  const libraryDir = join(dir, 'library')
  await mkdir(libraryDir)
  ctx.progress(`${name}: writing ${SIZE / MiB} MiB of pseudo-random bytes`)
  const expected = await writePseudoRandomFile(join(libraryDir, FILENAME), SIZE, 2)
  const baseline: number[] = []
  const swarm: number[] = []
  const shares: PeerShare[][] = Array.from({ length: PEERS }, () => [])

  for (let r = 0; r < ctx.runs; r++) {
    const tag = `${name} run ${r + 1}/${ctx.runs}`
    // a fresh relay per run: no tracker entry of an earlier run's peers survives
    const relay = await startBenchRelay(libraryDir, join(dir, `relay-${r + 1}`))
    const peers: BenchPeer[] = []
    try {
      const url = `${relay.relay.httpUrl()}/videos/${encodeURIComponent(FILENAME)}`
      const { contentId, manifest } = await fetchManifest(relay, FILENAME)
      const relayId = relay.relay.node.peerId.toString()

      let before = await relay.servedBytes()
      for (let i = 0; i < PEERS; i++) {
        const got = await httpDownload(url)
        if (got.bytes !== SIZE) throw new Error(`a plain HTTP download got ${got.bytes} bytes`)
      }
      let after = await relay.servedBytes()
      baseline.push((after.total - before.total) / SIZE)
      ctx.progress(`${tag}: ${PEERS} plain HTTP downloads: origin served ${baseline.at(-1)!.toFixed(2)} × the file`)

      before = await relay.servedBytes()
      for (let k = 0; k < PEERS; k++) {
        const peer = await startBenchPeer(relay.tcpAddr, join(dir, `run-${r + 1}-peer-${k + 1}`), `peer${k + 1}`)
        peers.push(peer)
        const m0 = await relay.servedBytes()
        const { ms, session } = await swarmDownload(peer, { contentId, manifest, http: { baseUrl: relay.relay.httpUrl(), filename: FILENAME } }, expected)
        await peer.announcer.settled()
        const m1 = await relay.servedBytes()
        const s = session.stats
        const share: PeerShare = {
          fromPeers: s.bytesFromPeers - s.bytesFromOriginPeer,
          fromOriginLibp2p: s.bytesFromOriginPeer,
          fromHttp: s.bytesFromHttp,
          originServed: m1.total - m0.total,
          peerSources: Object.entries(s.snapshot().bySource).filter(([id, bytes]) => id !== 'http' && id !== relayId && bytes > 0).length,
          mbps: megabytesPerSecond(SIZE, ms)
        }
        shares[k]!.push(share)
        ctx.progress(`${tag}: peer ${k + 1} done in ${(ms / 1000).toFixed(2)} s: ${pct(share.fromPeers)} from ${share.peerSources} peer(s), ${pct(share.fromOriginLibp2p)} origin libp2p, ${pct(share.fromHttp)} HTTP; origin served ${(share.originServed / SIZE).toFixed(3)} × the file`)
      }
      after = await relay.servedBytes()
      swarm.push((after.total - before.total) / SIZE)
      ctx.progress(`${tag}: origin + ${PEERS} peers: origin served ${swarm.at(-1)!.toFixed(3)} × the file`)
    } finally {
      for (const p of peers) await p.stop()
      await relay.stop()
      for (let k = 0; k < PEERS; k++) await rm(join(dir, `run-${r + 1}-peer-${k + 1}`), { recursive: true, force: true })
    }
  }

  const b = spread(baseline)
  const s = spread(swarm)
  const ratios = spread(swarm.map((x, i) => x / baseline[i]!))
  const perPeer = shares.map((list, k) => {
    const peers = spread(list.map(x => x.fromPeers / SIZE * 100))
    const http = spread(list.map(x => x.fromHttp / SIZE * 100))
    const origin = spread(list.map(x => (x.fromOriginLibp2p + x.fromHttp) / SIZE * 100))
    const mbps = spread(list.map(x => x.mbps))
    const sources = spread(list.map(x => x.peerSources))
    const served = spread(list.map(x => x.originServed / SIZE))
    return `peer ${k + 1}: ${range(peers)} % from ${range(sources, 0)} other peer(s), ${range(origin)} % from the origin (of which HTTP ${range(http)} %; relay /metrics: ${range(served)} × the file), ${range(mbps)} MB/s`
  })
  const row: Row = {
    suite: name,
    name: `origin + ${PEERS} peers joining in turn, HTTP fallback on: origin bytes / file size, ${SIZE / MiB} MiB`,
    value: s.median,
    range: [s.min, s.max],
    runs: s.runs,
    unit: '× file',
    baseline: b.median,
    baselineName: `${PEERS} plain HTTP GETs`,
    ratio: ratios.median,
    ratioRange: [ratios.min, ratios.max],
    target: TARGET,
    notes: `Each peer's share (median and min–max over runs, from its session's verified-byte accounting): ${perPeer.join('; ')}. Every completed file's SHA-256 matched the source.`
  }
  row.met = checkTarget(TARGET, row)
  return [
    {
      suite: name,
      name: `baseline: ${PEERS} plain HTTP GETs of the file: origin bytes / file size, ${SIZE / MiB} MiB`,
      value: b.median,
      range: [b.min, b.max],
      runs: b.runs,
      unit: '× file',
      notes: 'Measured, not assumed: the relay\'s /metrics deltas over 5 full GET /videos/<file>.'
    },
    row
  ]
}

function pct (bytes: number): string {
  return `${(bytes / SIZE * 100).toFixed(1)} %`
}

function range (x: ReturnType<typeof spread>, digits?: number): string {
  const f = (n: number): string => digits == null ? formatNumber(n) : n.toFixed(digits)
  return x.min === x.max ? f(x.median) : `${f(x.median)} (${f(x.min)}–${f(x.max)})`
}
