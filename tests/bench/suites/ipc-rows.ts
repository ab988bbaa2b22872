import type { Line } from '../lib/ipc-client'
import type { MessageLatencies } from '../lib/ipc-latency'
import { BENCH_PING_PROTOCOL } from '../lib/ipc-latency'
import type { RateResult } from '../lib/ipc-rate'
import type { Measured } from '../lib/measure'
import type { PumpResult } from '../lib/pump'
import { megabytesPerSecond, MiB, pairedRatios, percentile, spread, type Spread } from '../lib/stats'
import { formatNumber } from '../table'
import type { Row } from '../types'

const SUITE = 'ipc'
export const SIZE = 64 * MiB
const MB = '64 MiB'
/** Requests each IPC connection keeps outstanding (the IPC runs 16 of a connection's requests at once). */
export const IN_FLIGHT = 16
export const CLIENTS = 50
/** Messages per latency measurement. */
export const MESSAGES = 500

/** Alice's two peers: Bob in clear, Carol sealed (keys negotiated). */
export type Pair = 'bob' | 'carol'

export type RateKey = 'bridge1' | 'echo1' | 'bridge50' | 'echo50' | 'padded1'

export const RATE_STEPS: ReadonlyArray<{ key: RateKey, server: 'bridge' | 'echo' | 'padded', clients: number, label: string }> = [
  { key: 'bridge1', server: 'bridge', clients: 1, label: 'IPC ×1' },
  { key: 'echo1', server: 'echo', clients: 1, label: 'echo ×1' },
  { key: 'bridge50', server: 'bridge', clients: CLIENTS, label: `IPC ×${CLIENTS}` },
  { key: 'echo50', server: 'echo', clients: CLIENTS, label: `echo ×${CLIENTS}` },
  { key: 'padded1', server: 'padded', clients: 1, label: 'padded echo ×1' }
]

export interface FileStep {
  key: string
  pair: Pair
  /** Absent: the bridge's default (64 KiB), what `pipbingo chat send-file` sends without `--chunk-size`. */
  chunkSize?: number
  label: string
  extra?: boolean
}

const fileStep = (pair: Pair, chunkSize: number | undefined, extra = false): FileStep => ({
  key: `${pair}-${chunkSize ?? 'default'}`,
  pair,
  chunkSize,
  extra,
  label: `send_file ${pair === 'carol' ? 'sealed' : 'clear'} ${chunkSize == null ? 'default chunk' : `chunk ${chunkSize}`}`
})

export const FILE_STEPS: readonly FileStep[] = [
  fileStep('bob', 8192), fileStep('carol', 8192),
  fileStep('bob', undefined), fileStep('carol', undefined),
  fileStep('bob', 262144, true), fileStep('carol', 262144, true)
]

export interface IpcSamples {
  rate: Record<RateKey, RateResult[]>
  messages: Record<Pair, MessageLatencies[]>
  ping: Record<Pair, number[][]>
  files: Record<string, Array<Measured<Line>>>
  pump: Record<Pair, Array<Measured<PumpResult>>>
  /** The connection Alice → peer as the pump saw it. */
  connection: string
  statusBytes: number
  echoBytes: number
  paddedBytes: number
}

export function newSamples (): IpcSamples {
  return {
    rate: { bridge1: [], echo1: [], bridge50: [], echo50: [], padded1: [] },
    messages: { bob: [], carol: [] },
    ping: { bob: [], carol: [] },
    files: Object.fromEntries(FILE_STEPS.map(s => [s.key, []])),
    pump: { bob: [], carol: [] },
    connection: '',
    statusBytes: 0,
    echoBytes: 0,
    paddedBytes: 0
  }
}

const text = (s: Spread, unit = ''): string => `${s.min === s.max ? formatNumber(s.median) : `${formatNumber(s.median)} (${formatNumber(s.min)}–${formatNumber(s.max)})`}${unit}`
const med = (xs: number[]): number => spread(xs).median
const pct = (xs: number[]): string => `${formatNumber(med(xs) * 100)} %`

function row (name: string, values: number[], unit: string, more: Partial<Row> = {}): Row {
  const s = spread(values)
  return { suite: SUITE, name, value: s.median, range: [s.min, s.max], runs: s.runs, unit, ...more }
}

function against (r: Row, values: number[], base: number[], baselineName: string): Row {
  const ratio = spread(pairedRatios(values, base))
  return { ...r, baseline: med(base), baselineName, ratio: ratio.median, ratioRange: [ratio.min, ratio.max] }
}

export function ipcRows (s: IpcSamples): Row[] {
  return [...rateRows(s), ...latencyRows(s), ...fileRows(s)]
}

function rateRows (s: IpcSamples): Row[] {
  const perSecond = (key: RateKey): number[] => s.rate[key].map(x => x.perSecond)
  const load = (key: RateKey): string => `main thread busy ${pct(s.rate[key].map(x => x.busy))}, CPU ${formatNumber(med(s.rate[key].map(x => x.cpuMs / x.ms)) * 100)} % of one core`
  const how = `Each connection keeps ${IN_FLIGHT} \`{"command":"status"}\` lines outstanding (one more written per reply; the new lines of one read go in one write) for ${formatNumber(s.rate.bridge1[0]!.ms / 1000)} s or so, every reply parsed and checked; the time runs from the first write to the last reply. ` +
    `The baseline is a JSON-lines echo server in this process (parse the line, write \`{"success":true,"data":<request>,"timestamp":…}\`, setNoDelay like the IPC), driven by the same client the same way, measured in the same run in a rotating order: the ceiling of Node's TCP and JSON framing here. ` +
    `A status reply is ${s.statusBytes} bytes (it carries the 1216-byte X-Wing public key in base64), an echo reply ${s.echoBytes}. Client, bridges and relay share this one process and its main thread.`
  const one = against(row(`IPC request rate, one connection, ${IN_FLIGHT} in flight: status on Alice's bridge`, perSecond('bridge1'), 'req/s'), perSecond('bridge1'), perSecond('echo1'), 'echo server, same client')
  one.notes = `${how} IPC: ${load('bridge1')}; echo: ${load('echo1')}, ${text(spread(perSecond('echo1')), ' req/s')}. ` +
    `Against the echo server padded to a status reply's size (diagnostic below) the IPC reaches ${text(spread(pairedRatios(perSecond('bridge1'), perSecond('padded1'))))}: the rest of the gap is the IPC's own work per request (line splitting, schema validation, the status handler, ordered replies), not the size of its replies.`
  const many = against(row(`IPC request rate, ${CLIENTS} concurrent connections × ${IN_FLIGHT} in flight, total: status on Alice's bridge`, perSecond('bridge50'), 'req/s'), perSecond('bridge50'), perSecond('echo50'), `echo server, ${CLIENTS} connections`)
  many.notes = `The ${CLIENTS} connections are opened first (the IPC admits 64), then all driven at once. IPC: ${load('bridge50')}; echo: ${load('echo50')}, ${text(spread(perSecond('echo50')), ' req/s')}. ` +
    `Per connection the IPC served ${text(spread(perSecond('bridge50').map(x => x / CLIENTS)), ' req/s')}.`
  const padded = against(row(`diagnostic: echo server with replies padded to a status reply's size (${s.paddedBytes} bytes), one connection, ${IN_FLIGHT} in flight`, perSecond('padded1'), 'req/s', { extra: true }), perSecond('padded1'), perSecond('echo1'), 'echo server, same client')
  padded.notes = `What the size of a status reply alone costs the echo server (${load('padded1')}).`
  return [one, many, padded]
}

function latencyRows (s: IpcSamples): Row[] {
  const rows: Row[] = []
  for (const pair of ['bob', 'carol'] as const) {
    const who = pair === 'bob' ? 'Bob' : 'Carol'
    const mode = pair === 'bob' ? 'clear' : 'sealed (after negotiate_keys)'
    for (const p of [50, 99]) {
      const delivered = s.messages[pair].map(m => percentile(m.delivered, p))
      const acked = s.messages[pair].map(m => percentile(m.acknowledged, p))
      const ping = s.ping[pair].map(xs => percentile(xs, p))
      const r = against(row(`message latency Alice → ${who}, ${mode}: send_message on Alice's IPC → p2p_message_received on ${who}'s IPC client, p${p} of ${MESSAGES}`, delivered, 'ms'),
        delivered, ping, `libp2p ping Alice → ${who}, p${p}`)
      r.notes = `${MESSAGES} messages of about 75 bytes one after another (the next once the previous was delivered and acknowledged), timed in this process from the request's write to the line read by ${who}'s subscribed client. ` +
        `The reply \`Message sent\` (${who}'s chat ACK back, then Alice's IPC reply) came at p${p} ${text(spread(acked), ' ms')}. ` +
        `Baseline: libp2p ping (@libp2p/ping's code, a second instance under the bench's protocol id ${BENCH_PING_PROTOCOL}, so it never collides with the connection monitor's /ipfs/ping/1.0.0 heartbeat: one outbound ping stream per connection) from Alice's node to ${who}'s over the same direct connection, ${MESSAGES} one after another, wall time of ping(): a new stream (multistream-select) and 32 bytes there and back, as each chat message opens a stream of its own; p${p} ${text(spread(ping), ' ms')}.` +
        (pair === 'carol' ? ' Each message and its ACK are sealed with AES-256-GCM (WebCrypto) and checked on arrival.' : '')
      rows.push(r)
    }
  }
  return rows
}

function fileRows (s: IpcSamples): Row[] {
  const pumpSpeed = (pair: Pair): number[] => s.pump[pair].map(m => megabytesPerSecond(SIZE, m.ms))
  const load = (ms: Array<Measured<unknown>>): string => `main thread busy ${pct(ms.map(m => m.busy))}, process CPU ${formatNumber(med(ms.map(m => m.cpuMs / 1000)))} s per ${MB}`
  const pump = row(`baseline: bare libp2p stream Alice → Bob over the same direct connection, ${MB} in 256 KiB pieces, counted not stored`, pumpSpeed('bob'), 'MB/s')
  pump.notes = `The pump of the origin-download suite (tests/bench/lib/pump.ts), served by Alice's node, read by Bob's: send() + onDrain(), for await on the reader. Connection: ${s.connection}. ` +
    `To Carol: ${text(spread(pumpSpeed('carol')), ' MB/s')}. ${load(s.pump.bob)}.`
  const rows: Row[] = [pump]
  for (const step of FILE_STEPS) {
    const ms = s.files[step.key] ?? []
    if (ms.length === 0) continue
    const speed = ms.map(m => megabytesPerSecond(SIZE, m.ms))
    const who = step.pair === 'bob' ? 'Bob' : 'Carol'
    const chunk = step.chunkSize == null ? 'chunk_size left out (default 64 KiB, what the CLI sends)' : `chunk_size ${step.chunkSize}`
    const r = against(row(`send_file Alice → ${who}, ${step.pair === 'bob' ? 'clear' : 'sealed'}, ${chunk}, ${MB}`, speed, 'MB/s', { extra: step.extra }),
      speed, pumpSpeed(step.pair), `bare stream Alice → ${who}`)
    r.notes = `Timed from the request on Alice's IPC to its reply \`File sent\` (${who} verified the SHA-256 and stored the file): Alice reads the file chunk by chunk and hashes it, ${who} writes \`.incoming-*.part\` in its receive folder, hashes, links the final name; at most 4 MiB unacknowledged, ACKs every MiB. ` +
      `Checked outside the timing: the reply, ${who}'s file_received, and the stored copy hashed from disk. ${load(ms)}.` +
      (step.pair === 'carol' ? ' Every chunk is sealed with AES-256-GCM (WebCrypto) by Alice and opened by Carol.' : '')
    rows.push(r)
  }
  return rows
}
