import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { listOf, webOrigin } from '../node-bridge/config'
import { LANGS, langFromEnv } from '../node-bridge/messages'
import { LIBRARY_BUDGET_DEFAULTS } from './http/library-budget'
import { UPLOAD_QUOTA_DEFAULTS } from './http/upload-quota'
import { isPeerRelayAddress } from './peers/addresses'

const port = z.coerce.number().int().min(0).max(65535)

/** `--public-url`: where people open the app, an http(s) origin (a trailing slash is dropped). */
const publicUrl = z.url({ protocol: /^https?$/ }).transform(url => url.replace(/\/+$/, ''))
  .refine(url => new URL(url).origin === url, 'expected an origin such as https://video.example.org (no path, query or user name)')

/** `--announce`: a multiaddr the relay advertises (libp2p's `addresses.announce`). */
const announceAddr = z.string().min(1).max(512).refine(value => {
  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}, 'expected a multiaddr, e.g. /dns4/video.example.org/tcp/443/tls/ws')

/** `host[:port]` of a STUN/TURN URL (RFC 7064, 7065): a name, an IPv4 address, or an IPv6 one in brackets. */
const ICE_HOST_PORT = String.raw`(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?`
const STUN_URL = new RegExp(`^stuns?:${ICE_HOST_PORT}$`)
const TURN_URL = new RegExp(`^turns?:${ICE_HOST_PORT}(?:\\?transport=(?:udp|tcp))?$`)
const validPort = (url: string, pattern: RegExp): boolean => {
  const port = pattern.exec(url)?.[1]
  return port == null || (Number(port) >= 1 && Number(port) <= 65535)
}
const stunUrl = z.string().refine(url => STUN_URL.test(url) && validPort(url, STUN_URL),
  { error: iss => `"${String(iss.input)}" is not a STUN URL: expected stun:host:port (or stuns:), e.g. stun:turn.example.org:3478` })
const turnUrl = z.string().refine(url => TURN_URL.test(url) && validPort(url, TURN_URL),
  { error: iss => `"${String(iss.input)}" is not a TURN URL: expected turn:host:port or turns:host:port, optionally ?transport=udp or ?transport=tcp, e.g. turn:turn.example.org:3478?transport=udp` })

/**
 * How long TURN credentials live by default: 6 h. A TURN allocation is
 * refreshed with the credential it was made with, so one that expires ends
 * the relayed connections still using it: 6 h outlasts a film or an evening's
 * session on one connection. Longer buys little, since peers ask for fresh
 * credentials for each new connection (at half their life), and a shorter
 * life bounds how long a credential copied out of `/info` stays usable.
 */
export const TURN_TTL_DEFAULT_SECONDS = 6 * 60 * 60

export const relayConfigSchema = z.object({
  /** Interface every listener binds to. Loopback unless asked otherwise. */
  host: z.string().min(1).default('127.0.0.1'),
  httpPort: port.default(8080),
  tcpPort: port.default(10000),
  wsPort: port.default(10002),
  /** The videos the relay seeds (the origin). */
  libraryDir: z.string().min(1).default('library'),
  /** The relay's own state: its identity key. */
  dataDir: z.string().min(1).default('.pipbingo/relay'),
  /** The built web app, served at `/`. */
  webRoot: z.string().min(1).default('dist/web'),
  maxUploadBytes: z.coerce.number().int().positive().default(2 * 1024 ** 3),
  /**
   * Web origins besides the relay's own whose pages may upload (a reverse
   * proxy's public origin, a dev server); every other page gets 403.
   */
  allowOrigins: listOf(webOrigin, 16, ',').default([]),
  /** The most the library's videos may take; an upload that would pass it gets 507. */
  maxLibraryBytes: z.coerce.number().int().positive().default(LIBRARY_BUDGET_DEFAULTS.maxBytes),
  /** Uploads one address (an IPv4 address, an IPv6 /64) may have under way at once; 429 past it. */
  uploadsAtOnce: z.coerce.number().int().positive().default(UPLOAD_QUOTA_DEFAULTS.concurrent),
  /** Uploads one address may start in an hour. */
  uploadsPerHour: z.coerce.number().int().positive().default(UPLOAD_QUOTA_DEFAULTS.perHour),
  /** Bytes one address may upload in an hour, and in a day. */
  uploadBytesPerHour: z.coerce.number().int().positive().default(UPLOAD_QUOTA_DEFAULTS.bytesPerHour),
  uploadBytesPerDay: z.coerce.number().int().positive().default(UPLOAD_QUOTA_DEFAULTS.bytesPerDay),
  /** circuit-relay-v2 reservations (browsers need one each to be reachable). */
  maxReservations: z.coerce.number().int().positive().default(1024),
  /**
   * Inbound connections accepted per second from one IP address (libp2p's
   * default: 5). Behind a reverse proxy every connection comes from its
   * address: raise it there.
   */
  inboundPerHost: z.coerce.number().int().positive().default(5),
  /** Connections one peer (identity) may hold to the relay at once; more are refused. */
  maxConnectionsPerPeer: z.coerce.number().int().positive().default(4),
  /** Tracker entries live this long unless renewed. */
  trackerTtlMs: z.coerce.number().int().positive().default(10 * 60_000),
  /** A video published from a browser stays listed this long after the last peer holding it left. */
  publishedGraceMs: z.coerce.number().int().min(0).default(24 * 60 * 60_000),
  /** Most videos published from browsers the catalogue lists at once. */
  maxPublished: z.coerce.number().int().positive().default(1000),
  /** Bytes the published videos' manifests may take on disk, in all (507 past it). */
  maxPublishedBytes: z.coerce.number().int().positive().default(1024 ** 3),
  /** `POST /publish` requests one address may make a minute, whatever their outcome (429 past it). */
  publishRequestsPerMinute: z.coerce.number().int().positive().default(20),
  /** Videos one address may get listed in 24 hours (429 past it). */
  publishesPerAddressPerDay: z.coerce.number().int().positive().default(50),
  /** Videos one peer may get listed in 24 hours (429 past it). */
  publishesPerPeerPerDay: z.coerce.number().int().positive().default(20),
  /**
   * Other relays of the same network (each a multiaddr ending in /p2p/<id>):
   * dialled at start and kept, they join this relay to the content-routing
   * DHT and share their catalogues (docs/ARCHITECTURE.md, "Several relays").
   */
  peerRelays: listOf(z.string().regex(/^\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/, 'expected a multiaddr ending in /p2p/<peer id>, e.g. /dns4/relay-a.example/tcp/10000/p2p/12D3KooW…')
    .refine(isPeerRelayAddress, 'not a valid multiaddr with a valid peer id at its end'), 32, ',').default([]),
  /** How often a connected peer relay is asked for its library (its new videos show here by the next ask). */
  peerRelayPollMs: z.coerce.number().int().positive().default(30_000),
  /** A peer relay's videos stay listed this long after the connection to it is lost. */
  peerRelayGraceMs: z.coerce.number().int().min(0).default(2 * 60_000),
  /** The longest wait between two dials of an unreachable peer relay (the first waits 1 s, then doubling). */
  peerRelayRedialMaxMs: z.coerce.number().int().positive().default(60_000),
  /** Catalogue requests a minute (`/pipbingo/catalogue/1.0.0`) from one peer that is no configured peer relay. */
  catalogueRequestsPerMinute: z.coerce.number().int().positive().default(60),
  /**
   * The certificate (PEM, leaf first: certbot's fullchain.pem) and key the
   * relay serves HTTPS and WSS with; both or neither. Reloaded on SIGHUP
   * and when either file changes.
   */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /**
   * Where people open the app when it is not the relay's own address (a
   * reverse proxy's, a name): printed, given by `/info`, allowed to upload,
   * and, without `announce`, the WebSockets address advertised
   * (relay/public-address.ts).
   */
  publicUrl: publicUrl.optional(),
  /** The multiaddrs the relay advertises instead of its listen addresses (`/info`, identify, the tracker's circuit addresses). */
  announce: listOf(announceAddr, 32, ',').default([]),
  /** STUN servers handed to browsers and bridges in `/info` (docs/ARCHITECTURE.md, "ICE servers"). */
  stun: listOf(stunUrl, 16, ',').default([]),
  /** TURN servers (one coturn, or several sharing its secret), handed out with short-lived credentials. */
  turn: listOf(turnUrl, 16, ',').default([]),
  /**
   * coturn's `static-auth-secret`: from PIPBINGO_TURN_SECRET or the file of
   * --turn-secret-file, never a flag (it would show in `ps`). Never sent.
   */
  turnSecret: z.string().min(16, 'the TURN secret must have 16 characters at least (e.g. openssl rand -hex 32)').optional(),
  /** Seconds the TURN credentials handed out live. */
  turnTtlSeconds: z.coerce.number().int().min(60).max(7 * 24 * 60 * 60).default(TURN_TTL_DEFAULT_SECONDS),
  /** The language of the console (node-bridge/messages.ts). */
  lang: z.enum(LANGS).default('en')
}).superRefine((config, ctx) => {
  if (config.turn.length > 0 && config.turnSecret == null) {
    ctx.addIssue({ code: 'custom', path: ['turnSecret'], message: 'TURN servers need the shared secret of their coturn (static-auth-secret): set PIPBINGO_TURN_SECRET or --turn-secret-file <path>' })
  }
  if ((config.tlsCert == null) !== (config.tlsKey == null)) {
    ctx.addIssue({ code: 'custom', path: [config.tlsCert == null ? 'tlsCert' : 'tlsKey'], message: 'HTTPS needs both --tls-cert and --tls-key (or neither)' })
  }
})

export type RelayConfig = z.infer<typeof relayConfigSchema>

/** The variable holding the TURN secret; the only other way is a file (--turn-secret-file). */
const TURN_SECRET_ENV = 'PIPBINGO_TURN_SECRET'

const FLAGS = {
  host: { type: 'string', env: 'PIPBINGO_HOST', key: 'host', help: 'interface to bind (127.0.0.1)' },
  'http-port': { type: 'string', env: 'PIPBINGO_HTTP_PORT', key: 'httpPort', help: 'web app and API (8080)' },
  'tcp-port': { type: 'string', env: 'PIPBINGO_TCP_PORT', key: 'tcpPort', help: 'libp2p TCP (10000)' },
  'ws-port': { type: 'string', env: 'PIPBINGO_WS_PORT', key: 'wsPort', help: 'libp2p WebSockets (10002)' },
  library: { type: 'string', env: 'PIPBINGO_LIBRARY', key: 'libraryDir', help: 'the videos the relay seeds (./library)' },
  'data-dir': { type: 'string', env: 'PIPBINGO_RELAY_DATA', key: 'dataDir', help: 'identity key, published videos (./.pipbingo/relay)' },
  'web-root': { type: 'string', env: 'PIPBINGO_WEB_ROOT', key: 'webRoot', help: 'the built web app (./dist/web)' },
  'max-upload-bytes': { type: 'string', env: 'PIPBINGO_MAX_UPLOAD_BYTES', key: 'maxUploadBytes', help: 'largest upload (2 GiB)' },
  'allow-origin': { type: 'string', multiple: true, env: 'PIPBINGO_ALLOW_ORIGINS', key: 'allowOrigins', help: 'a web origin whose pages may upload besides the relay\'s own; repeatable, the env ,-separated (none)' },
  'max-library-bytes': { type: 'string', env: 'PIPBINGO_MAX_LIBRARY_BYTES', key: 'maxLibraryBytes', help: 'room uploads may fill in the library, its videos counted (20 GiB)' },
  'uploads-at-once': { type: 'string', env: 'PIPBINGO_UPLOADS_AT_ONCE', key: 'uploadsAtOnce', help: 'uploads one address (IPv4, IPv6 /64) may have under way (2)' },
  'uploads-per-hour': { type: 'string', env: 'PIPBINGO_UPLOADS_PER_HOUR', key: 'uploadsPerHour', help: 'uploads one address may start in an hour (30)' },
  'upload-bytes-per-hour': { type: 'string', env: 'PIPBINGO_UPLOAD_BYTES_PER_HOUR', key: 'uploadBytesPerHour', help: 'bytes one address may upload in an hour (4 GiB)' },
  'upload-bytes-per-day': { type: 'string', env: 'PIPBINGO_UPLOAD_BYTES_PER_DAY', key: 'uploadBytesPerDay', help: 'bytes one address may upload in a day (16 GiB)' },
  'max-reservations': { type: 'string', env: 'PIPBINGO_MAX_RESERVATIONS', key: 'maxReservations', help: 'circuit relay reservations (1024)' },
  'inbound-per-host': { type: 'string', env: 'PIPBINGO_INBOUND_PER_HOST', key: 'inboundPerHost', help: 'inbound connections a second from one IP address (5; raise it behind a reverse proxy)' },
  'max-connections-per-peer': { type: 'string', env: 'PIPBINGO_MAX_CONNECTIONS_PER_PEER', key: 'maxConnectionsPerPeer', help: 'connections one peer may hold at once (4)' },
  'published-grace-ms': { type: 'string', env: 'PIPBINGO_PUBLISHED_GRACE_MS', key: 'publishedGraceMs', help: 'keep a browser-published video listed this long once no peer holds it (86400000: 24 h)' },
  'max-published': { type: 'string', env: 'PIPBINGO_MAX_PUBLISHED', key: 'maxPublished', help: 'browser-published videos listed at most (1000)' },
  'max-published-bytes': { type: 'string', env: 'PIPBINGO_MAX_PUBLISHED_BYTES', key: 'maxPublishedBytes', help: 'disk the published manifests may take (1 GiB)' },
  'publish-rate': { type: 'string', env: 'PIPBINGO_PUBLISH_RATE', key: 'publishRequestsPerMinute', help: 'POST /publish requests from one address a minute (20)' },
  'publishes-per-address': { type: 'string', env: 'PIPBINGO_PUBLISHES_PER_ADDRESS', key: 'publishesPerAddressPerDay', help: 'videos one address may list in 24 h (50)' },
  'publishes-per-peer': { type: 'string', env: 'PIPBINGO_PUBLISHES_PER_PEER', key: 'publishesPerPeerPerDay', help: 'videos one peer may list in 24 h (20)' },
  'peer-relay': { type: 'string', multiple: true, env: 'PIPBINGO_PEER_RELAYS', key: 'peerRelays', help: 'another relay of this network, a multiaddr ending in /p2p/<id>; repeatable, the env ,-separated (none)' },
  'tls-cert': { type: 'string', env: 'PIPBINGO_TLS_CERT', key: 'tlsCert', help: 'PEM certificate chain: serve HTTPS and WSS (with --tls-key); reloaded on SIGHUP and when the file changes (none)' },
  'tls-key': { type: 'string', env: 'PIPBINGO_TLS_KEY', key: 'tlsKey', help: 'PEM private key of --tls-cert (none)' },
  'public-url': { type: 'string', env: 'PIPBINGO_PUBLIC_URL', key: 'publicUrl', help: 'where people open the app (https://video.example.org behind a proxy): printed, in /info, may upload; without --announce, WebSockets are advertised there: /dns4/<host>/tcp/<port, 443>/tls/ws (with --tls-cert: the --ws-port), TCP as it listens (none)' },
  announce: { type: 'string', multiple: true, env: 'PIPBINGO_ANNOUNCE', key: 'announce', help: 'a multiaddr to advertise instead of the listen addresses, e.g. /dns4/host/tcp/443/tls/ws; repeatable, the env ,-separated; list the TCP one bridges dial too (none)' },
  stun: { type: 'string', multiple: true, env: 'PIPBINGO_STUN', key: 'stun', help: 'a STUN server for browsers and bridges, stun:host:port; repeatable, the env ,-separated (none)' },
  turn: { type: 'string', multiple: true, env: 'PIPBINGO_TURN', key: 'turn', help: 'a TURN server, turn:host:port[?transport=udp|tcp] or turns:…; repeatable, the env ,-separated (none)' },
  'turn-secret-file': { type: 'string', env: 'PIPBINGO_TURN_SECRET_FILE', key: 'turnSecretFile', help: 'a file holding coturn\'s static-auth-secret; or the secret itself in PIPBINGO_TURN_SECRET, never a flag (none)' },
  'turn-ttl': { type: 'string', env: 'PIPBINGO_TURN_TTL', key: 'turnTtlSeconds', help: 'seconds the TURN credentials handed out live (21600: 6 h)' },
  lang: { type: 'string', env: 'PIPBINGO_LANG', key: 'lang', help: 'en or fr: console lines (from LC_ALL, LC_MESSAGES, LANG; en)' }
} as const

/** Column widths of the usage: the longest flag and variable name. */
const FLAG_WIDTH = Math.max(...Object.keys(FLAGS).map(flag => flag.length))
const ENV_WIDTH = Math.max(...Object.values(FLAGS).map(f => f.env.length))

export const RELAY_USAGE = `Usage: npm run relay -- [options]   (each also read from the environment)
${Object.entries(FLAGS).map(([flag, f]) => `  --${flag.padEnd(FLAG_WIDTH)}  ${f.env.padEnd(ENV_WIDTH)}  ${f.help}`).join('\n')}`

/** Flags first, then environment variables, then defaults; throws a readable error on bad values. */
export function parseRelayConfig (argv: string[], env: NodeJS.ProcessEnv): RelayConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(FLAGS).map(([flag, f]) => [flag, { type: f.type, multiple: 'multiple' in f }])),
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
  const secret = turnSecret(raw.turnSecretFile as string | undefined, env[TURN_SECRET_ENV])
  delete raw.turnSecretFile
  if (secret != null) raw.turnSecret = secret
  const parsed = relayConfigSchema.safeParse(raw)
  if (!parsed.success) {
    throw new Error(`Invalid relay configuration: ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  }
  return parsed.data
}

/** The TURN secret from its file or its variable (one of them); the file's final newline is not part of it. */
function turnSecret (file: string | undefined, fromEnv: string | undefined): string | undefined {
  if (file == null) return fromEnv === '' ? undefined : fromEnv
  if (fromEnv != null && fromEnv !== '') {
    throw new Error(`Invalid relay configuration: the TURN secret is given twice (${TURN_SECRET_ENV} and --turn-secret-file): keep one`)
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err: any) {
    throw new Error(`Invalid relay configuration: --turn-secret-file ${file}: cannot read it (${err?.code ?? err?.message})`)
  }
  const secret = text.replace(/\r?\n$/, '')
  if (secret === '') throw new Error(`Invalid relay configuration: --turn-secret-file ${file} is empty`)
  if (/[\r\n]/.test(secret)) throw new Error(`Invalid relay configuration: --turn-secret-file ${file} holds more than one line: put the secret alone in it`)
  return secret
}
