import { BenchIpcClient, type Line } from './ipc-client'
import { measure } from './measure'

export interface RateOptions {
  /** Connections, each driven the same way. */
  clients: number
  /** Requests each connection keeps outstanding. */
  inFlight: number
  /** How long requests keep being sent; the replies to the last ones are waited for. */
  durationMs: number
  /** The request, one JSON object (a newline is added). */
  request: unknown
  /** Whether a reply is the expected one (a wrong reply fails the measurement). */
  ok(reply: Line): boolean
}

export interface RateResult {
  /** Replies per second, over all connections. */
  perSecond: number
  replies: number
  ms: number
  /** Event-loop utilisation of this (single) process meanwhile, 0–1. */
  busy: number
  /** Process CPU (user + system, all threads), ms. */
  cpuMs: number
  /** Bytes of one reply line (the first one), newline included. */
  replyBytes: number
}

/**
 * Request rate against a JSON-lines server on loopback: `clients`
 * connections opened first, then each keeps `inFlight` copies of `request`
 * outstanding (one more sent per reply, as a pipelining client does) for
 * `durationMs`; the time runs from the first write to the last reply.
 */
export async function requestRate (port: number, options: RateOptions): Promise<RateResult> {
  const line = `${JSON.stringify(options.request)}\n`
  const clients = await Promise.all(Array.from({ length: options.clients }, async () => await BenchIpcClient.connect(port)))
  try {
    const first = await clients[0]!.request(options.request)
    if (!options.ok(first)) throw new Error(`unexpected reply: ${JSON.stringify(first).slice(0, 300)}`)
    const replyBytes = Buffer.byteLength(JSON.stringify(first)) + 1
    const m = await measure(async () => {
      const deadline = performance.now() + options.durationMs
      const counts = await Promise.all(clients.map(async c => await c.drive(line, options.inFlight, deadline, options.ok)))
      return counts.reduce((a, b) => a + b, 0)
    })
    return { perSecond: m.result / (m.ms / 1000), replies: m.result, ms: m.ms, busy: m.busy, cpuMs: m.cpuMs, replyBytes }
  } finally {
    for (const c of clients) c.close()
  }
}

/** One request on a fresh connection: its reply and the reply line's size in bytes (newline included). */
export async function probe (port: number, request: unknown): Promise<{ reply: Line, bytes: number }> {
  const client = await BenchIpcClient.connect(port)
  try {
    const reply = await client.request(request)
    return { reply, bytes: Buffer.byteLength(JSON.stringify(reply)) + 1 }
  } finally {
    client.close()
  }
}
