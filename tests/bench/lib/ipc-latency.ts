import { ping as pingService, type Ping } from '@libp2p/ping'
import type { Startable } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { BenchIpcClient, Line } from './ipc-client'
import type { IpcBridge } from './ipc-bridges'

const STEP_TIMEOUT_MS = 10_000

export interface MessageLatencies {
  /** `send_message` written on the sender's IPC → the receiver's IPC client read `p2p_message_received`, ms, one per message. */
  delivered: number[]
  /** The same → the sender's client read the reply `Message sent` (the peer's ACK came back), ms. */
  acknowledged: number[]
}

/**
 * `count` messages, one after another (the next one is sent once the
 * previous one was delivered and acknowledged), from `from` (an IPC client
 * of the sender) to the peer named `peer`, received by `to` (a subscribed
 * IPC client of that peer). Each delivery is checked: the text, the
 * sender's name, and whether it was sealed (`encrypted`).
 */
export async function messageLatencies (from: BenchIpcClient, to: BenchIpcClient, options: { peer: string, sender: string, count: number, encrypted: boolean, tag: string }): Promise<MessageLatencies> {
  const out: MessageLatencies = { delivered: [], acknowledged: [] }
  let expected: { text: string, resolve: (at: number) => void, reject: (err: Error) => void } | undefined
  let stray: Error | undefined
  const off = to.onEvent((event: Line, at: number) => {
    if (event.event !== 'p2p_message_received') return
    const e = expected
    expected = undefined
    if (e == null) stray ??= new Error(`a message nobody sent: ${JSON.stringify(event).slice(0, 300)}`)
    else if (event.data?.message !== e.text || event.data?.peer !== options.sender || event.meta?.encrypted !== options.encrypted) {
      e.reject(new Error(`expected ${JSON.stringify(e.text)} from ${options.sender} (encrypted: ${options.encrypted}), got ${JSON.stringify(event).slice(0, 300)}`))
    } else {
      e.resolve(at)
    }
  })
  try {
    for (let i = 0; i < options.count; i++) {
      if (stray != null) throw stray
      const text = `${options.tag} message ${i + 1} of ${options.count}: the quick brown fox jumps over the lazy dog`
      let timer: NodeJS.Timeout | undefined
      const delivered = new Promise<number>((resolve, reject) => {
        expected = { text, resolve, reject }
        timer = setTimeout(() => { reject(new Error(`${JSON.stringify(text)} was not delivered within ${STEP_TIMEOUT_MS} ms`)) }, STEP_TIMEOUT_MS)
      })
      const started = performance.now()
      const acknowledged = from.request({ command: 'p2p', action: 'send_message', data: { peer: options.peer, message: text } }, STEP_TIMEOUT_MS)
        .then(reply => ({ reply, at: performance.now() }))
      try {
        const [at, ack] = await Promise.all([delivered, acknowledged])
        if (ack.reply.success !== true || ack.reply.data !== 'Message sent') throw new Error(`send_message answered ${JSON.stringify(ack.reply).slice(0, 300)}`)
        out.delivered.push(at - started)
        out.acknowledged.push(ack.at - started)
      } finally {
        clearTimeout(timer)
      }
    }
  } finally {
    off()
  }
  return out
}

/**
 * The protocol id of the bench's own ping service. The bridge's
 * `/ipfs/ping/1.0.0` is not used: libp2p's connection monitor opens a
 * `/ipfs/ping/1.0.0` stream on every connection every 10 s, and
 * @libp2p/ping allows one outbound stream of it per connection
 * (maxOutboundStreams 1), so a monitor heartbeat falling inside a loop of
 * back-to-back pings fails one of the two: the bench's ping with
 * TooManyOutboundProtocolStreams, or the monitor's, which then aborts the
 * connection (abortConnectionOnPingFailure) under the chat and the pump.
 */
export const BENCH_PING_PROTOCOL = '/pipbingo-bench/ping/1.0.0'

const benchPings = new WeakMap<object, Promise<Ping>>()

/**
 * A second instance of @libp2p/ping on `node` (the same code, under
 * BENCH_PING_PROTOCOL), started once per node: it answers pings and sends them.
 */
async function benchPing (node: Libp2p<any>): Promise<Ping> {
  let got = benchPings.get(node)
  if (got == null) {
    got = (async () => {
      const components = (node as unknown as { components?: Parameters<ReturnType<typeof pingService>>[0] }).components
      if (components == null) throw new Error('the libp2p node exposes no components: the bench cannot start its own ping service')
      // the class behind the Ping interface is a Startable service: start() registers its handler
      const p = pingService({ protocolPrefix: 'pipbingo-bench' })(components) as Ping & Startable
      await p.start()
      return p
    })()
    benchPings.set(node, got)
  }
  return await got
}

/**
 * `count` libp2p pings from `a` to `b`, one after another, each timed
 * around `ping()` with performance.now(): a new stream on the open
 * connection (protocol negotiation included, as a chat message opens one),
 * 32 random bytes there and back. @libp2p/ping's own code, under the bench's
 * protocol id (BENCH_PING_PROTOCOL says why). The ping's own figure is in
 * whole milliseconds (Date.now()), too coarse on loopback, so it is not used.
 */
export async function pingLatencies (a: IpcBridge, b: IpcBridge, count: number): Promise<number[]> {
  const [ping] = await Promise.all([benchPing(a.bridge.node), benchPing(b.bridge.node)])
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const started = performance.now()
    await ping.ping(b.peerId, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
    out.push(performance.now() - started)
  }
  return out
}

