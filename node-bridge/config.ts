import { delimiter } from 'node:path'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { LANGS, langFromEnv } from './messages'

const port = z.coerce.number().int().min(0).max(65535)

/** An RTCIceServer, as RTCConfiguration takes it. */
const iceServerSchema = z.strictObject({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional()
})

/** `--ice-servers '[{"urls":"stun:stun.example.org"}]'`: JSON text from flags and env, an array in code. */
const iceServersSchema = z.preprocess((value, ctx) => {
  if (typeof value !== 'string') return value
  try {
    return JSON.parse(value)
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not valid JSON (expected an array of RTCIceServer objects)' })
    return z.NEVER
  }
}, z.array(iceServerSchema).max(16))

/** A libp2p multiaddr that names its peer (`/p2p/<id>`), e.g. the relay's TCP address. */
const peerMultiaddr = z.string().min(1).max(512).refine(value => {
  try {
    return multiaddr(value).getComponents().some(c => c.name === 'p2p')
  } catch {
    return false
  }
}, 'expected a multiaddr ending in /p2p/<peer id>, e.g. /ip4/127.0.0.1/tcp/10000/p2p/12D3KooW…')

const httpOrigin = z.url({ protocol: /^https?$/ }).transform(url => url.replace(/\/+$/, ''))

/** A web origin exactly as a browser sends it: scheme, host, optional port, no path. */
export const webOrigin = z.string().regex(/^https?:\/\/(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/i, 'expected an origin such as http://localhost:5173 (no path, no trailing slash)')

/** A list from repeated flags (an array) or from one environment variable of values joined by `separator`. */
export function listOf<T extends z.ZodType> (item: T, max: number, separator: string) {
  return z.preprocess(value => typeof value === 'string' ? value.split(separator).map(v => v.trim()).filter(v => v !== '') : value, z.array(item).max(max))
}

export const bridgeConfigSchema = z.strictObject({
  /** Interface the libp2p listeners bind to. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Interface the REST API (and later the IPC) binds to: loopback, since they have no authentication. */
  apiHost: z.string().min(1).default('127.0.0.1'),
  apiPort: port.default(9090),
  /** The JSON IPC (docs/contracts/ipc-8889.md), always on 127.0.0.1. */
  ipcPort: port.default(8889),
  /** The IPC's WebSocket (events, and the same requests); default ipcPort + 1 (0 when ipcPort is 0). */
  ipcWsPort: port.optional(),
  /** The display name announced to chat peers; default `peer-` and the end of the peer id. */
  name: z.string().trim().min(1).max(64).refine(n => !/\p{Cc}/u.test(n), 'no control characters').optional(),
  /** Where files from chat peers land; default `<dataDir>/received`. */
  receiveDir: z.string().min(1).optional(),
  /** libp2p TCP (other Node peers). */
  p2pPort: port.default(10001),
  /** libp2p WebSockets (browser tabs on this machine). */
  wsPort: port.default(10003),
  /** The relay's libp2p address; by default it is read from `${relayHttp}/info` (its TCP address). */
  relay: peerMultiaddr.optional(),
  /** The relay's HTTP origin: catalogue (`/list`), manifests, and the HTTP fallback (`/videos`). */
  relayHttp: httpOrigin.default('http://127.0.0.1:8080'),
  /** Downloads, complete and partial. */
  cacheDir: z.string().min(1).default('cache'),
  /** The bridge's own state: its identity key. */
  dataDir: z.string().min(1).default('.pipbingo/bridge'),
  maxConcurrentDownloads: z.coerce.number().int().min(1).max(64).default(3),
  /**
   * Seconds a download waits for a source (a peer in the tracker, or the
   * relay's library) before it fails, outside the download slots; also how
   * long a running one may go without a chunk and without a source.
   */
  sourceWaitSeconds: z.coerce.number().min(0.1).max(86_400).default(30),
  /** ICE servers for WebRTC; none by default (host candidates suffice on a LAN). */
  iceServers: iceServersSchema.default([]),
  /**
   * Folders `send_file` may read from (symlinks and `..` resolved first);
   * default `<dataDir>/outbox`. A relative `file_path` is taken in the first.
   */
  sendDirs: listOf(z.string().min(1).max(4096), 16, delimiter).refine(dirs => dirs.length > 0, 'at least one folder').optional(),
  /**
   * Web origins besides the relay's app (`relayHttp`) whose pages may use
   * the REST API and the IPC WebSocket, e.g. a dev server `http://localhost:5173`.
   */
  allowOrigins: listOf(webOrigin, 16, ',').default([]),
  /** The language of the console, the CLI and the API's `message` texts (messages.ts). */
  lang: z.enum(LANGS).default('en')
})

export type BridgeConfig = z.infer<typeof bridgeConfigSchema>
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>

const FLAGS = {
  host: { env: 'PIPBINGO_BRIDGE_HOST', key: 'host', help: 'interface of the libp2p listeners and WebRTC sockets (127.0.0.1)' },
  'api-host': { env: 'PIPBINGO_API_HOST', key: 'apiHost', help: 'interface of the REST API (127.0.0.1; it has no authentication for programs)' },
  'api-port': { env: 'PIPBINGO_API_PORT', key: 'apiPort', help: 'REST API (9090)' },
  'ipc-port': { env: 'PIPBINGO_IPC_PORT', key: 'ipcPort', help: 'JSON IPC, always on 127.0.0.1 (8889)' },
  'ipc-ws-port': { env: 'PIPBINGO_IPC_WS_PORT', key: 'ipcWsPort', help: 'the IPC over a WebSocket (IPC port + 1)' },
  name: { env: 'PIPBINGO_NAME', key: 'name', help: 'the name other chat peers see (peer-<end of the peer id>)' },
  'receive-dir': { env: 'PIPBINGO_RECEIVE_DIR', key: 'receiveDir', help: 'where files from chat peers land (<data dir>/received)' },
  'p2p-port': { env: 'PIPBINGO_P2P_PORT', key: 'p2pPort', help: 'libp2p TCP, for other Node peers (10001)' },
  'ws-port': { env: 'PIPBINGO_BRIDGE_WS_PORT', key: 'wsPort', help: 'libp2p WebSockets, for browser tabs on this machine (10003)' },
  relay: { env: 'PIPBINGO_RELAY', key: 'relay', help: 'the relay\'s libp2p address, /ip4/…/tcp/…/p2p/… (read from <relay-http>/info)' },
  'relay-http': { env: 'PIPBINGO_RELAY_HTTP', key: 'relayHttp', help: 'the relay\'s web address: catalogue, HTTP fallback, the app\'s origin (http://127.0.0.1:8080)' },
  cache: { env: 'PIPBINGO_CACHE', key: 'cacheDir', help: 'downloads, complete and partial (./cache)' },
  'data-dir': { env: 'PIPBINGO_BRIDGE_DATA', key: 'dataDir', help: 'identity, KEM key, contacts, API token (./.pipbingo/bridge)' },
  'max-downloads': { env: 'PIPBINGO_MAX_DOWNLOADS', key: 'maxConcurrentDownloads', help: 'downloads at once; more wait in a queue (3)' },
  'source-wait': { env: 'PIPBINGO_SOURCE_WAIT', key: 'sourceWaitSeconds', help: 'seconds a download waits for a peer or the origin to have it before it fails (30)' },
  'ice-servers': { env: 'PIPBINGO_ICE_SERVERS', key: 'iceServers', help: 'STUN/TURN servers for WebRTC, a JSON array of RTCIceServer (none)' },
  'send-dir': { env: 'PIPBINGO_SEND_DIRS', key: 'sendDirs', multiple: true, help: 'a folder send_file may read from; repeatable, the env :-separated (<data dir>/outbox)' },
  'allow-origin': { env: 'PIPBINGO_ALLOW_ORIGINS', key: 'allowOrigins', multiple: true, help: 'a web origin whose pages may use the API besides the relay\'s app; repeatable, the env ,-separated (none)' },
  lang: { env: 'PIPBINGO_LANG', key: 'lang', help: 'en or fr: console lines and API messages (from LC_ALL, LC_MESSAGES, LANG; en)' }
} as const

/** Column widths of the usage: the longest flag and variable name. */
const FLAG_WIDTH = Math.max(...Object.keys(FLAGS).map(flag => flag.length))
const ENV_WIDTH = Math.max(...Object.values(FLAGS).map(f => f.env.length))

export const BRIDGE_USAGE = `Usage: npm run bridge -- [options]   (each also read from the environment)
${Object.entries(FLAGS).map(([flag, f]) => `  --${flag.padEnd(FLAG_WIDTH)}  ${f.env.padEnd(ENV_WIDTH)}  ${f.help}`).join('\n')}`

/** Flags first, then environment variables, then defaults; throws a readable error on bad values. */
export function parseBridgeConfig (argv: string[], env: NodeJS.ProcessEnv): BridgeConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(FLAGS).map(([flag, f]) => [flag, { type: 'string' as const, multiple: 'multiple' in f }])),
    strict: true,
    allowPositionals: false
  })
  const raw: Record<string, unknown> = {}
  for (const [flag, f] of Object.entries(FLAGS)) {
    const value = (values as Record<string, unknown>)[flag] ?? env[f.env]
    // a repeated flag gives an array (one item per flag); an env variable a string the schema splits
    if (value !== undefined && value !== '' && !(Array.isArray(value) && value.length === 0)) raw[f.key] = value
  }
  raw.lang ??= langFromEnv(env)
  return parseConfigObject(raw)
}

/** Validate a configuration given as an object (tests, embedding). */
export function parseConfigObject (raw: BridgeConfigInput | Record<string, unknown>): BridgeConfig {
  const parsed = bridgeConfigSchema.safeParse(raw)
  if (!parsed.success) {
    throw new Error(`Invalid bridge configuration: ${parsed.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  }
  return parsed.data
}
