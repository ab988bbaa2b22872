import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { directConnections, introduce, startIpcBridge, type IpcBridge } from '../lib/ipc-bridges'
import type { BenchIpcClient, Line } from '../lib/ipc-client'
import { startEchoServer, type EchoServer } from '../lib/ipc-echo'
import { FileEvents, timedSendFile, type FileToSend } from '../lib/ipc-files'
import { messageLatencies, pingLatencies } from '../lib/ipc-latency'
import { probe, requestRate } from '../lib/ipc-rate'
import { writePseudoRandomFile } from '../lib/files'
import { measure } from '../lib/measure'
import { handlePump, readPump } from '../lib/pump'
import { startBenchRelay } from '../lib/relay'
import { megabytesPerSecond, MiB } from '../lib/stats'
import type { BenchContext, Row } from '../types'
import { FILE_STEPS, IN_FLIGHT, ipcRows, MESSAGES, newSamples, RATE_STEPS, SIZE, type IpcSamples, type Pair } from './ipc-rows'

export const name = 'ipc'

/** How long each request-rate measurement keeps sending. */
const RATE_MS = 1500
const FILE_SIZE = SIZE

const STATUS = { command: 'status' }
const statusOk = (r: Line): boolean => r.success === true && r.data?.p2p_running === true
const echoOk = (r: Line): boolean => r.success === true && r.data?.command === 'status'

interface Env {
  ctx: BenchContext
  alice: IpcBridge
  /** Alice's peers: Bob in clear, Carol after negotiate_keys (sealed). */
  peers: Record<Pair, IpcBridge>
  /** Subscribed IPC clients of Bob and Carol (they receive). */
  inbox: Record<Pair, BenchIpcClient>
  files: Record<Pair, FileEvents>
  echo: EchoServer
  paddedEcho: EchoServer
  file: FileToSend
  samples: IpcSamples
}

/**
 * The bridge's JSON IPC, with three real bridges (createBridge, in this
 * process, every port ephemeral) and a real relay on loopback. Alice is
 * connected directly (TCP + noise + yamux) to Bob and to Carol; Alice and
 * Carol negotiated keys (X-Wing) first, so everything between them is
 * sealed, while Alice ↔ Bob stays clear. Per run, each group in a rotating
 * order: (1) `status` request rate on Alice's IPC, one connection and
 * 50, against a trivial JSON-lines echo server driven the same way;
 * (2) 500 messages one after another Alice → Bob and Alice → Carol
 * (IPC → IPC), against libp2p ping between the same nodes; (3) `send_file`
 * of 64 MiB with several chunk sizes to each, against a bare libp2p stream
 * pump over the same connection.
 */
export async function run (ctx: BenchContext): Promise<Row[]> {
  const dir = await ctx.tempDir('ipc-')
  await mkdir(join(dir, 'library'))
  const relay = await startBenchRelay(join(dir, 'library'), join(dir, 'relay'))
  const started: IpcBridge[] = []
  const clients: BenchIpcClient[] = []
  const servers: EchoServer[] = []
  const unregister: Array<() => Promise<void>> = []
  try {
    const start = async (who: string): Promise<IpcBridge> => {
      const b = await startIpcBridge(relay.relay.httpUrl(), who, join(dir, who.toLowerCase()))
      started.push(b)
      return b
    }
    const [alice, bob, carol] = await Promise.all([start('Alice'), start('Bob'), start('Carol')])
    await introduce(alice, bob)
    await introduce(alice, carol)
    const control = await alice.ipc()
    clients.push(control)
    const negotiated = await control.request({ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Carol' } })
    if (negotiated.success !== true) throw new Error(`negotiate_keys answered ${JSON.stringify(negotiated)}`)
    control.close()

    const inbox = { bob: await bob.ipc(), carol: await carol.ipc() }
    clients.push(inbox.bob, inbox.carol)
    for (const c of Object.values(inbox)) {
      const r = await c.request({ command: 'status', action: 'subscribe' })
      if (r.success !== true) throw new Error(`status subscribe answered ${JSON.stringify(r)}`)
    }
    const files = { bob: new FileEvents(inbox.bob), carol: new FileEvents(inbox.carol) }

    ctx.progress(`${name}: writing ${FILE_SIZE / MiB} MiB of pseudo-random bytes`)
    const path = join(alice.dir, 'data', 'outbox', 'bench-ipc-64mib.bin')
    const file: FileToSend = { path, size: FILE_SIZE, sha256: await writePseudoRandomFile(path, FILE_SIZE, 6) }
    unregister.push(await handlePump(alice.bridge.node, FILE_SIZE))

    // the echo server, plain and padded to the size of a status reply
    const echo = await startEchoServer()
    servers.push(echo)
    const status = await probe(alice.bridge.ipcAddress().port, STATUS)
    const echoed = await probe(echo.port, STATUS)
    if (!statusOk(status.reply) || !echoOk(echoed.reply)) throw new Error(`unexpected replies: ${JSON.stringify([status.reply, echoed.reply]).slice(0, 400)}`)
    const paddedEcho = await startEchoServer({ pad: status.bytes - echoed.bytes - ',"pad":""'.length })
    servers.push(paddedEcho)

    const samples = newSamples()
    samples.statusBytes = status.bytes
    samples.echoBytes = echoed.bytes
    samples.paddedBytes = (await probe(paddedEcho.port, STATUS)).bytes
    const env: Env = { ctx, alice, peers: { bob, carol }, inbox, files, echo, paddedEcho, file, samples }
    ctx.progress(`${name}: warm-up (not counted)`)
    await rates(env, 0, 'warm-up', 300)
    await latencies(env, 0, 'warm-up', 50)
    const warm = await alice.ipc()
    try {
      for (const pair of ['bob', 'carol'] as const) await timedSendFile(warm, files[pair], { peer: env.peers[pair].name, file, encrypted: pair === 'carol' })
    } finally {
      warm.close()
    }

    for (let r = 0; r < ctx.runs; r++) {
      const tag = `${name} run ${r + 1}/${ctx.runs}`
      await rates(env, r, tag, RATE_MS, samples)
      await latencies(env, r, tag, MESSAGES, samples)
      await transfers(env, r, tag, samples)
    }
    for (const pair of ['bob', 'carol'] as const) {
      const direct = directConnections(alice, env.peers[pair])
      if (direct.length !== 1 || alice.bridge.node.getConnections(env.peers[pair].peerId).length !== 1) {
        throw new Error(`Alice has ${alice.bridge.node.getConnections(env.peers[pair].peerId).length} connections to ${env.peers[pair].name} (${direct.length} direct): the measurements did not share one direct connection`)
      }
    }
    return ipcRows(samples)
  } finally {
    for (const c of clients) c.close()
    for (const s of servers) await s.close().catch(() => {})
    for (const u of unregister) await u().catch(() => {})
    for (const b of started) await b.stop().catch(() => {})
    await relay.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Request rates: Alice's IPC and the echo servers, one connection and 50, in a rotating order. */
async function rates (env: Env, r: number, tag: string, durationMs: number, samples?: IpcSamples): Promise<void> {
  const said: string[] = []
  for (let k = 0; k < RATE_STEPS.length; k++) {
    const step = RATE_STEPS[(k + r) % RATE_STEPS.length]!
    const port = step.server === 'bridge' ? env.alice.bridge.ipcAddress().port : step.server === 'echo' ? env.echo.port : env.paddedEcho.port
    const result = await requestRate(port, { clients: step.clients, inFlight: IN_FLIGHT, durationMs, request: STATUS, ok: step.server === 'bridge' ? statusOk : echoOk })
    samples?.rate[step.key].push(result)
    said.push(`${step.label} ${result.perSecond.toFixed(0)}/s`)
  }
  env.ctx.progress(`${tag}: requests: ${said.join(', ')}`)
}

/** Message latencies Alice → Bob (clear) and Alice → Carol (sealed), and pings to each, in a rotating order. */
async function latencies (env: Env, r: number, tag: string, count: number, samples?: IpcSamples): Promise<void> {
  const from = await env.alice.ipc()
  try {
    const steps: Array<[string, () => Promise<number[]>]> = []
    for (const pair of ['bob', 'carol'] as const) {
      const peer = env.peers[pair]
      steps.push([`messages → ${peer.name}`, async () => {
        const m = await messageLatencies(from, env.inbox[pair], { peer: peer.name, sender: env.alice.name, count, encrypted: pair === 'carol', tag })
        samples?.messages[pair].push(m)
        return m.delivered
      }])
      steps.push([`ping → ${peer.name}`, async () => {
        const p = await pingLatencies(env.alice, peer, count)
        samples?.ping[pair].push(p)
        return p
      }])
    }
    const said: string[] = []
    for (let k = 0; k < steps.length; k++) {
      const [label, step] = steps[(k + r) % steps.length]!
      const xs = [...await step()].sort((a, b) => a - b)
      said.push(`${label} p50 ${xs[Math.floor(xs.length / 2)]!.toFixed(2)} ms`)
    }
    env.ctx.progress(`${tag}: latency: ${said.join(', ')}`)
  } finally {
    from.close()
  }
}

/** send_file of the 64 MiB file with each chunk size to Bob and Carol, and the pump over each connection, in a rotating order. */
async function transfers (env: Env, r: number, tag: string, samples: IpcSamples): Promise<void> {
  const from = await env.alice.ipc()
  try {
    const steps: Array<[string, () => Promise<number>]> = []
    for (const pair of ['bob', 'carol'] as const) {
      const peer = env.peers[pair]
      steps.push([`pump → ${peer.name}`, async () => {
        // the pump is served by Alice's node and read by the peer's: bytes flow Alice → peer, as in send_file
        const m = await measure(async () => await readPump(peer.bridge.node, env.alice.tcpAddr))
        if (m.result.bytes !== FILE_SIZE) throw new Error(`the pump delivered ${m.result.bytes} bytes, expected ${FILE_SIZE}`)
        if (m.result.connection.limits != null) throw new Error('the pump ran over a limited (relayed) connection')
        samples.connection = `${m.result.connection.remoteAddr.toString().replace(/\/p2p\/.*/, '')} + ${m.result.connection.encryption ?? '?'} + ${m.result.connection.multiplexer ?? '?'}`
        samples.pump[pair].push(m)
        return megabytesPerSecond(FILE_SIZE, m.ms)
      }])
    }
    for (const step of FILE_STEPS) {
      steps.push([step.label, async () => {
        const m = await timedSendFile(from, env.files[step.pair], { peer: env.peers[step.pair].name, file: env.file, chunkSize: step.chunkSize, encrypted: step.pair === 'carol' })
        samples.files[step.key]?.push(m)
        return megabytesPerSecond(FILE_SIZE, m.ms)
      }])
    }
    const said: string[] = []
    for (let k = 0; k < steps.length; k++) {
      const [label, step] = steps[(k + r) % steps.length]!
      said.push(`${label} ${(await step()).toFixed(0)} MB/s`)
    }
    env.ctx.progress(`${tag}: files: ${said.join(', ')}`)
  } finally {
    from.close()
  }
}
