import { nextEvent } from '../../helpers/bridge'
import { MemorySampler, procMemory, type BridgeProcess, type ProcMemory } from './bridge-process'
import type { BenchRelay } from './relay'

const DOWNLOAD_TIMEOUT_MS = 10 * 60_000

export interface DownloadMeasure {
  /** POST /download → the `seeding` event on /events, ms. */
  ms: number
  /** The process at ready, before the download. */
  idle: ProcMemory
  /** The process once seeding: `hwm` is its peak RSS since spawn. */
  end: ProcMemory
  /** The 50 ms sample with the largest RSS during the download. */
  sampled: ProcMemory
  samples: number
  /** V8, from the bridge's /metrics once seeding, bytes. */
  heapUsed: number
  heapTotal: number
  external: number
  /** The download's /status entry: bytes from the origin (libp2p + HTTP) and from peers. */
  fromOrigin: number
  fromPeers: number
  /** What the relay's /metrics say it served meanwhile: in all, and over HTTP. */
  originServed: number
  originHttp: number
}

/**
 * Have a bridge process download `filename` from the relay, as a client
 * would (POST /download, then the `seeding` event of GET /events), while
 * its /proc/<pid>/status is sampled every 50 ms.
 */
export async function measureDownload (bridge: BridgeProcess, relay: Pick<BenchRelay, 'servedBytes'>, filename: string): Promise<DownloadMeasure> {
  const idle = await procMemory(bridge.pid)
  const servedBefore = await relay.servedBytes()
  const done = nextEvent<any>(bridge.url, (event, data) => event === 'state' && data.status?.filename === filename && ['seeding', 'failed', 'cancelled'].includes(data.to),
    { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) })
  const sampler = new MemorySampler(bridge.pid, 50)
  const started = performance.now()
  try {
    const posted = await fetch(`${bridge.url}/download`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filename }) })
    if (posted.status !== 200) throw new Error(`POST /download answered ${posted.status}: ${await posted.text()}`)
    await posted.body?.cancel()
    const state = await done
    if (state.to !== 'seeding') throw new Error(`the download ended ${state.to}: ${state.status?.error}`)
  } finally {
    await sampler.stop()
  }
  const ms = performance.now() - started
  const end = await procMemory(bridge.pid)
  const metrics = await (await fetch(`${bridge.url}/metrics`)).text()
  const status = (await (await fetch(`${bridge.url}/status`)).json())[filename]
  const servedAfter = await relay.servedBytes()
  const gauge = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN)
  return {
    ms,
    idle,
    end,
    sampled: sampler.max ?? end,
    samples: sampler.samples,
    heapUsed: gauge('nodejs_heap_size_used_bytes'),
    heapTotal: gauge('nodejs_heap_size_total_bytes'),
    external: gauge('nodejs_external_memory_bytes'),
    fromOrigin: status.bytes_from_origin,
    fromPeers: status.bytes_from_peers,
    originServed: servedAfter.total - servedBefore.total,
    originHttp: servedAfter.http - servedBefore.http
  }
}
