import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseManifest, verifyManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { relayConfigSchema } from '../../../relay/config'
import { createRelay, type Relay } from '../../../relay/relay'
import { spawnDaemon } from '../../helpers/daemon'

export interface BenchRelay {
  relay: Relay
  /** The relay's libp2p TCP address (what a Node peer dials), ending in /p2p/<id>. */
  tcpAddr: Multiaddr
  /** Bytes the origin served so far: libp2p and HTTP, from GET /metrics. */
  servedBytes(): Promise<{ libp2p: number, http: number, total: number }>
  stop(): Promise<void>
}

/**
 * A real relay (createRelay) on loopback with ephemeral ports, over an
 * existing library folder: the files are written there beforehand, streamed,
 * so a 256 MiB video is never held in memory. Its identity and state go
 * under `stateDir`.
 */
export async function startBenchRelay (libraryDir: string, stateDir: string): Promise<BenchRelay> {
  const relay = await createRelay(relayConfigSchema.parse({
    host: '127.0.0.1',
    httpPort: 0,
    tcpPort: 0,
    wsPort: 0,
    libraryDir,
    dataDir: join(stateDir, 'data'),
    webRoot: join(stateDir, 'web')
  }))
  await relay.start()
  const tcpAddr = relay.multiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('/ws'))
  if (tcpAddr == null) {
    await relay.stop()
    throw new Error('the relay has no TCP address')
  }
  const metric = (text: string, name: string): number => {
    const line = text.split('\n').find(l => l.startsWith(`${name} `))
    if (line == null) throw new Error(`the relay exports no ${name}`)
    return Number(line.split(' ')[1])
  }
  return {
    relay,
    tcpAddr,
    async servedBytes () {
      const text = await (await fetch(`${relay.httpUrl()}/metrics`)).text()
      const libp2p = metric(text, 'pipbingo_libp2p_bytes_served_total')
      const http = metric(text, 'pipbingo_http_bytes_served_total')
      return { libp2p, http, total: libp2p + http }
    },
    async stop () {
      await relay.stop()
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

/** A relay in a process of its own, as `npm run relay` runs it: what a suite needs to measure its memory. */
export interface RelayProcess {
  pid: number
  httpUrl: string
  peerId: string
  /** The relay's libp2p TCP address, ending in /p2p/<id>. */
  tcpAddr: string
  /** The process's resident set now, and its peak so far (VmRSS, VmHWM from /proc), bytes. */
  memory(): Promise<{ rss: number, peak: number }>
  /** Rejections the relay's guard logged and survived (relay/main.ts: "unhandled rejection, the relay keeps running"). */
  unhandled(): number
  exitCode(): number | null
  stop(): Promise<void>
}

/**
 * `relay/main.ts` in a child process (this Node, tsx), on loopback with
 * ephemeral ports, over an existing library folder. `args` adds flags
 * (e.g. `--inbound-per-host`).
 */
export async function startRelayProcess (libraryDir: string, stateDir: string, args: string[] = []): Promise<RelayProcess> {
  const daemon = spawnDaemon('relay/main.ts', [
    '--host', '127.0.0.1', '--http-port', '0', '--tcp-port', '0', '--ws-port', '0',
    '--library', libraryDir, '--data-dir', join(stateDir, 'data'), '--web-root', join(stateDir, 'web'),
    ...args
  ])
  try {
    const [, peerId] = await daemon.line(/relay peer id (\S+)/, 60_000)
    const [, tcpAddr] = await daemon.line(/listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/)
    const [, url] = await daemon.line(/open (http:\/\/\S+?)\/ /)
    const pid = daemon.child.pid!
    return {
      pid,
      httpUrl: url!.replace('localhost', '127.0.0.1'),
      peerId: peerId!,
      tcpAddr: tcpAddr!,
      async memory () {
        const status = await readFile(`/proc/${pid}/status`, 'utf8')
        const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
        return { rss: kib('VmRSS'), peak: kib('VmHWM') }
      },
      unhandled: () => daemon.output.filter(l => l.includes('unhandled rejection, the relay keeps running')).length,
      exitCode: () => daemon.exitCode(),
      stop: async () => { await daemon.stop() }
    }
  } catch (err) {
    await daemon.stop()
    throw err
  }
}
