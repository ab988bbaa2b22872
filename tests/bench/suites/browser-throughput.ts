import { openTab, playToComplete, watchMainThread, type MainThreadLoad, type Tab } from '../lib/browser-tabs'
import { cpuPerMB, describeCpu, watchCpu, type CpuReport } from '../lib/browser-cpu'
import { waitForHolders } from '../lib/browser-swarm'
import { rawChannelTransfer, type RawChannelOptions } from '../lib/raw-datachannel'
import { spreadText } from '../lib/spread-text'
import { megabytesPerSecond, MiB, pairedRatios, spread } from '../lib/stats'
import { formatNumber } from '../table'
import { checkTarget, type Row, type Target } from '../types'
import type { BrowserEnv } from './browser'

const SUITE = 'browser'
const TARGET: Target = { of: 'ratio', op: '>=', limit: 0.8 }
const TIMEOUT_MS = 120_000
/** B must get at least this share from A for the run to be a tab→tab figure. */
const MIN_SHARE = 0.95
const MAX_ATTEMPTS = 3

/** libp2p's WebRTC stream: 16 KiB messages, writes while bufferedAmount < 2 MiB, resumes at bufferedamountlow with threshold 0. */
const LIBP2P_PACING: Omit<RawChannelOptions, 'size'> = { messageSize: 16 * 1024, highWater: 2 * MiB, lowWater: 0 }

interface Sample {
  /** (a): play() → complete. */
  mbps: number
  /** (a′): first chunk from A → complete (NaN when nothing came from A). */
  transferMbps: number
  firstChunkMs?: number
  shareFromA: number
  fromOrigin: number
  direct: boolean
  /** B's connections to A at the end, as `transport(relayed)`. */
  links: string
  loadA: MainThreadLoad
  loadB: MainThreadLoad
  cpu: CpuReport
  ms: number
}

interface RawSample { mbps: number, ms: number, path: string, loadA: MainThreadLoad, loadB: MainThreadLoad, cpu: CpuReport }

/**
 * Row 1: tab B (a fresh context in the other browser process) downloads the
 * 64 MiB file that only tab A holds (besides the origin), through the
 * product: `window.pipbingo.play()` → the swarm session → libp2p over a
 * direct WebRTC connection → verified chunks in IndexedDB. In the same two
 * pages and the same run: a raw RTCDataChannel, A → B (the ceiling), and the
 * same raw channel paced like libp2p's stream (a diagnostic).
 */
export async function throughputRows (env: BrowserEnv): Promise<Row[]> {
  const { ctx, big, seederId } = env
  const product: Sample[] = []
  const raw: RawSample[] = []
  const paced: RawSample[] = []
  /** Attempts whose B did not get ≥ 95 % from A (so no tab→tab figure): what B's stats said. */
  const missed: string[] = []
  for (let r = 0; r < ctx.runs; r++) {
    for (let attempt = 1; ; attempt++) {
      const tag = `${SUITE} throughput run ${r + 1}/${ctx.runs}${attempt > 1 ? ` (attempt ${attempt})` : ''}`
      const tab = await openTab(env.browserB, `${env.origin}/network`)
      let got: { product?: Sample, raw?: RawSample, paced?: RawSample } = {}
      try {
        const steps: Array<() => Promise<void>> = [
          async () => {
            const s = await productTransfer(env, tab)
            got.product = s
            ctx.progress(`${tag}: libp2p A → B ${formatNumber(s.mbps)} MB/s play() → complete${s.firstChunkMs == null ? '' : ` (${formatNumber(s.transferMbps)} MB/s from the first chunk of A, at ${s.firstChunkMs.toFixed(0)} ms)`}; ${(s.shareFromA * 100).toFixed(1)} % from A, ${s.fromOrigin} B from the origin; connections to A: ${s.links}`)
          },
          async () => {
            got.raw = await rawTransfer(env, tab, {})
            ctx.progress(`${tag}: raw RTCDataChannel A → B, 64 KiB messages: ${formatNumber(got.raw.mbps)} MB/s over ${got.raw.path}`)
          },
          async () => {
            got.paced = await rawTransfer(env, tab, LIBP2P_PACING)
            ctx.progress(`${tag}: raw RTCDataChannel A → B, paced like libp2p: ${formatNumber(got.paced.mbps)} MB/s`)
          }
        ]
        // a different order each run, so whatever drifts during a run does not always hit the same step
        for (let k = 0; k < steps.length; k++) await steps[(k + r) % steps.length]!()
      } finally {
        await tab.close()
      }
      // the closed tab leaves the tracker with its connection: the next B finds only A
      await waitForHolders(env.rig.relay, big.contentId, [seederId])
      const p = got.product!
      if (p.shareFromA >= MIN_SHARE) {
        product.push(p)
        raw.push(got.raw!)
        paced.push(got.paced!)
        break
      }
      // not a tab→tab transfer: the run is taken again with a fresh B, and the miss reported
      missed.push(`${(p.shareFromA * 100).toFixed(1)} % from A at ${formatNumber(p.mbps)} MB/s, connections to A: ${p.links}`)
      ctx.progress(`${tag}: B got only ${(p.shareFromA * 100).toFixed(1)} % from A: not a tab→tab figure, taking the run again`)
      got = {}
      if (attempt >= MAX_ATTEMPTS) throw new Error(`in ${MAX_ATTEMPTS} attempts B never got ≥ ${MIN_SHARE * 100} % of the file from A: ${missed.join('; ')}`)
    }
  }

  const a = spread(product.map(s => s.mbps))
  const a2 = spread(product.map(s => s.transferMbps))
  const rr = spread(raw.map(s => s.mbps))
  const rp = spread(paced.map(s => s.mbps))
  const ratio = spread(pairedRatios(product.map(s => s.mbps), raw.map(s => s.mbps)))
  const ratio2 = spread(pairedRatios(product.map(s => s.transferMbps), raw.map(s => s.mbps)))
  const ratioP = spread(pairedRatios(paced.map(s => s.mbps), raw.map(s => s.mbps)))
  const size = `${big.size / MiB} MiB`
  const faster = paced.filter((p, i) => p.mbps > raw[i]!.mbps).length
  const rawName = '(r) raw RTCDataChannel'
  const share = spread(product.map(s => s.shareFromA * 100))
  const busy = (loads: MainThreadLoad[], ms: number[]): string => {
    const task = spread(loads.map((l, i) => l.taskMs / ms[i]! * 100))
    const script = spread(loads.map((l, i) => l.scriptMs / ms[i]! * 100))
    return `${spreadText(task, 0)} % (script ${spreadText(script, 0)} %)`
  }
  const rowA: Row = {
    suite: SUITE,
    name: `(a) tab A → tab B over libp2p WebRTC, two browser processes: play() → complete, ${size}`,
    value: a.median,
    range: [a.min, a.max],
    runs: a.runs,
    unit: 'MB/s',
    baseline: rr.median,
    baselineName: rawName,
    ratio: ratio.median,
    ratioRange: [ratio.min, ratio.max],
    target: TARGET,
    notes: `The product's path: B, a fresh context (new profile, empty IndexedDB) in the second Chromium process, calls window.pipbingo.play('${big.filename}') (pseudo-random bytes, not a playable video: the player gives up at once and the session fetches the rest on its own), timed in the page until its stats say complete (polled every 20 ms), so it includes the catalogue and manifest fetches, the tracker lookup and the WebRTC dial. Every chunk is SHA-256-verified against the manifest and written to IndexedDB. Share of B's bytes from A (stats.bySource): ${spreadText(share, 1)} %; from the origin: ${product.map(s => s.fromOrigin).join(', ')} bytes per run; the connection to A was a direct WebRTC one in ${product.filter(s => s.direct).length}/${product.length} runs. ${missed.length === 0 ? 'Every attempt got its bytes from A.' : `${missed.length} more attempt(s) were not tab→tab (B's session got its chunks from the origin instead) and were taken again with a fresh B; B's stats then: ${missed.join('; ')}.`} Main thread busy during the transfer: A (sender) ${busy(product.map(s => s.loadA), product.map(s => s.ms))}, B (receiver) ${busy(product.map(s => s.loadB), product.map(s => s.ms))} of the wall time. Where the CPU went (medians): ${describeCpu(product.map(s => s.cpu), big.size)}.`
  }
  rowA.met = checkTarget(TARGET, rowA)
  const cpuA = cpuPerMB(product.map(s => s.cpu), big.size)
  const cpuR = cpuPerMB(raw.map(s => s.cpu), big.size)
  if (cpuA.busy != null && cpuR.busy != null) {
    const bound = cpuA.busy >= 0.85 && cpuR.busy >= 0.85
    rowA.notes += ` What limits it: the machine's cores were ${Math.round(cpuA.busy * 100)} % busy during (a) and ${Math.round(cpuR.busy * 100)} % during (r)${bound ? ', so both are CPU-bound here (two Chromiums, each with its renderer and network service, on 2 cores)' : ''}; (a) used ${cpuA.ms.toFixed(0)} CPU-ms per MB in all processes against ${cpuR.ms.toFixed(0)} for (r) — libp2p's framing, the chunk protocol, the SHA-256 of every chunk and IndexedDB in B${bound ? ', and on saturated cores that extra CPU comes straight off the throughput' : ''}; the raw channel paced like libp2p's stream, (r16), reached ${ratioP.median.toFixed(2)} × (r) in the same runs, so message size and pacing alone ${ratioP.median >= 0.95 ? 'do not explain the gap' : `explain about ${Math.round((1 - ratioP.median) * 100)} points of it`}.`
  }
  return [
    {
      suite: SUITE,
      name: `${rawName} between the same two pages, A → B, 64 KiB messages (ceiling), ${size}`,
      value: rr.median,
      range: [rr.min, rr.max],
      runs: rr.runs,
      unit: 'MB/s',
      notes: `In A's and B's pages of (a), in the same run: an RTCPeerConnection each, no ICE servers, offer and answer (candidates included) carried by the bench through page.evaluate; one ordered reliable channel; A sends ${size} of random bytes in 64 KiB messages, waiting for bufferedamountlow (threshold 1 MiB) whenever bufferedAmount is above 4 MiB; timed from A's first send() to B's last byte (performance.timeOrigin + now() in both pages). Selected ICE pair: ${[...new Set(raw.map(s => s.path))].join('; ')} — a host candidate on this machine's own address, so the packets never leave it (Chromium gathers no loopback candidates). Main thread busy: A ${busy(raw.map(s => s.loadA), raw.map(s => s.ms))}, B ${busy(raw.map(s => s.loadB), raw.map(s => s.ms))}. Where the CPU went (medians): ${describeCpu(raw.map(s => s.cpu), big.size)}.${faster > 0 ? ` The raw channel paced like libp2p (r16) was faster than this one in ${faster} of ${raw.length} runs: on this machine the 64 KiB-message channel is the ceiling asked for, not a hard bound.` : ''}`
    },
    rowA,
    {
      suite: SUITE,
      name: `(a′) = (a) timed from B's first chunk from A to complete (setup excluded), ${size}`,
      value: a2.median,
      range: [a2.min, a2.max],
      runs: a2.runs,
      unit: 'MB/s',
      baseline: rr.median,
      baselineName: rawName,
      ratio: ratio2.median,
      ratioRange: [ratio2.min, ratio2.max],
      extra: true,
      notes: `The steady transfer of (a): from the moment B's stats first count bytes from A (a whole verified 256 KiB chunk) to complete, over the bytes after that chunk. The first chunk from A came ${spreadText(spread(product.map(s => s.firstChunkMs!)), 0)} ms after play().`
    },
    {
      suite: SUITE,
      name: `(r16) raw RTCDataChannel paced like libp2p's WebRTC stream: 16 KiB messages, refill only when bufferedAmount reaches 0 (max 2 MiB), ${size}`,
      value: rp.median,
      range: [rp.min, rp.max],
      runs: rp.runs,
      unit: 'MB/s',
      baseline: rr.median,
      baselineName: rawName,
      ratio: ratioP.median,
      ratioRange: [ratioP.min, ratioP.max],
      extra: true,
      notes: `@libp2p/webrtc 6 sends 16 KiB messages (each wrapped in a length-prefixed protobuf) while bufferedAmount < 2 MiB and waits for bufferedamountlow with bufferedAmountLowThreshold = 0. Same pages, same run as (r): how much of the gap between (a) and (r) that pacing alone explains. Where the CPU went (medians): ${describeCpu(paced.map(s => s.cpu), big.size)}.`
    }
  ]
}

async function productTransfer (env: BrowserEnv, tab: Tab): Promise<Sample> {
  const { big, seederId } = env
  const stopA = await watchMainThread(env.seeder.page)
  const stopB = await watchMainThread(tab.page)
  const stopCpu = await watchCpu(browsersOf(env))
  const got = await playToComplete(tab.page, big.filename, big.contentId, seederId, TIMEOUT_MS)
  const cpu = await stopCpu()
  const [loadA, loadB] = [await stopA(), await stopB()]
  const stats = got.stats
  const first = got.firstPeerChunkMs
  const toA = (stats.peers as Array<{ id: string, direct: boolean, transport: string }>).filter(p => p.id === seederId)
  return {
    mbps: megabytesPerSecond(big.size, got.ms),
    transferMbps: first == null ? Number.NaN : megabytesPerSecond(big.size - 256 * 1024, got.ms - first),
    firstChunkMs: first,
    links: toA.length === 0 ? 'none' : toA.map(p => `${p.transport}${p.direct ? '' : ' (relayed)'}`).join(' + '),
    shareFromA: (stats.bySource[seederId] ?? 0) / big.size,
    fromOrigin: stats.bytesFromOrigin,
    direct: stats.peers.some((p: any) => p.id === seederId && p.direct === true && p.transport === 'webrtc'),
    loadA,
    loadB,
    cpu,
    ms: got.ms
  }
}

async function rawTransfer (env: BrowserEnv, tab: Tab, options: Omit<RawChannelOptions, 'size'>): Promise<RawSample> {
  const stopA = await watchMainThread(env.seeder.page)
  const stopB = await watchMainThread(tab.page)
  const stopCpu = await watchCpu(browsersOf(env))
  const got = await rawChannelTransfer(env.seeder.page, tab.page, { size: env.big.size, timeoutMs: TIMEOUT_MS, ...options })
  const cpu = await stopCpu()
  const [loadA, loadB] = [await stopA(), await stopB()]
  if (got.bytes !== env.big.size) throw new Error(`the raw channel delivered ${got.bytes} bytes, expected ${env.big.size}`)
  return { mbps: megabytesPerSecond(got.bytes, got.ms), ms: got.ms, path: got.path, loadA, loadB, cpu }
}

function browsersOf (env: BrowserEnv): Array<{ label: string, browser: BrowserEnv['browserA'] }> {
  return [{ label: 'A', browser: env.browserA }, { label: 'B', browser: env.browserB }]
}

