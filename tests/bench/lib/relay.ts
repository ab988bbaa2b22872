import { join } from 'node:path'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseManifest, verifyManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { relayConfigSchema } from '../../../relay/config'
import { createRelay, type Relay } from '../../../relay/relay'
import type { SuperSeedDecision } from '@core/protocols/chunk'
import type { RelayProcess } from './bridge-process'

export interface BenchRelay {
  relay: Relay
  /** The relay's libp2p TCP address (what a Node peer dials), ending in /p2p/<id>. */
  tcpAddr: Multiaddr
  /** Bytes the origin served so far: libp2p and HTTP, from GET /metrics. */
  servedBytes(): Promise<{ libp2p: number, http: number, total: number }>
  /** Its super-seeding decisions so far (`pipbingo_super_seed_decisions_total`), by decision. */
  superSeed(): Promise<Record<SuperSeedDecision, number>>
  stop(): Promise<void>
}

/**
 * A real relay (createRelay) on loopback with ephemeral ports, over an
 * existing library folder: the files are written there beforehand, streamed,
 * so a 256 MiB video is never held in memory. Its identity and state go
 * under `stateDir`. `inboundPerHost` sets `--inbound-per-host` (5 by default).
 */
export async function startBenchRelay (libraryDir: string, stateDir: string, options: { inboundPerHost?: number } = {}): Promise<BenchRelay> {
  const relay = await createRelay(relayConfigSchema.parse({
    host: '127.0.0.1',
    httpPort: 0,
    tcpPort: 0,
    wsPort: 0,
    libraryDir,
    dataDir: join(stateDir, 'data'),
    webRoot: join(stateDir, 'web'),
    ...options.inboundPerHost == null ? {} : { inboundPerHost: options.inboundPerHost }
  }))
  await relay.start()
  const tcpAddr = relay.multiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('/ws'))
  if (tcpAddr == null) {
    await relay.stop()
    throw new Error('the relay has no TCP address')
  }
  return {
    relay,
    tcpAddr,
    servedBytes: async () => await servedBytesOf(relay.httpUrl()),
    async superSeed () {
      const text = await (await fetch(`${relay.httpUrl()}/metrics`)).text()
      const of = (d: SuperSeedDecision): number => metric(text, `pipbingo_super_seed_decisions_total{decision="${d}"}`)
      return { first: of('first'), same: of('same'), unlisted: of('unlisted'), isolated: of('isolated'), held: of('held') }
    },
    async stop () {
      await relay.stop()
    }
  }
}

function metric (text: string, name: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  if (line == null) throw new Error(`the relay exports no ${name}`)
  return Number(line.split(' ')[1])
}

/** Bytes the relay at `httpUrl` served so far (its GET /metrics): libp2p and HTTP. A relay process's, too. */
export async function servedBytesOf (httpUrl: string): Promise<{ libp2p: number, http: number, total: number }> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const libp2p = metric(text, 'pipbingo_libp2p_bytes_served_total')
  const http = metric(text, 'pipbingo_http_bytes_served_total')
  return { libp2p, http, total: libp2p + http }
}

/**
 * Several bench relays made one network, as `--peer-relay` joins them: each
 * dials the ones started before it, and their DHT routing tables fill from
 * those connections (identify tells each the others speak the DHT).
 */
export async function joinBenchRelays (relays: readonly BenchRelay[], options: { signal?: AbortSignal } = {}): Promise<void> {
  for (const [k, relay] of relays.entries()) {
    for (const earlier of relays.slice(0, k)) {
      await relay.relay.node.dial(earlier.tcpAddr, { signal: options.signal ?? AbortSignal.timeout(10_000) })
    }
  }
}

/** The manifest of `filename` as a client gets it: `GET /manifest/<filename>`, checked against its content id. */
export async function fetchManifest (relay: BenchRelay | RelayProcess, filename: string): Promise<{ contentId: ContentId, manifest: Manifest }> {
  const base = 'relay' in relay ? relay.relay.httpUrl() : relay.httpUrl
  const response = await fetch(`${base}/manifest/${encodeURIComponent(filename)}`)
  if (!response.ok) throw new Error(`GET /manifest/${filename} answered ${response.status}`)
  const body = await response.json() as { contentId: ContentId, manifest: unknown }
  const manifest = parseManifest(body.manifest)
  await verifyManifest(manifest, body.contentId)
  return { contentId: body.contentId, manifest }
}
