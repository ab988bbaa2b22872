/**
 * A child process of the hostile-soak suite: `count` rogue peers built from
 * the project's stack (tests/helpers/rogue.ts) attack one relay in a loop
 * until the parent says stop or the deadline passes, whichever comes
 * first. Each rogue runs the attacks of the hostile-peer tests one after
 * another: a pipeline of CHUNK requests it never reads, then hanging up or
 * vanishing; a HAVE flood on a stream it never reads; a reset in the middle
 * of a frame; a tracker flood (5,000 made-up content ids, the per-peer
 * cap); 300 streams at once; malformed frames. It reports how many of each
 * it ran and how they ended, every 5 s and at the end.
 *
 * Bounded: it exits by itself at `deadlineAt`, and at once when the
 * parent's channel closes.
 */
import type { Libp2p } from 'libp2p'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import { MAX_ENTRIES_PER_ANNOUNCE } from '@core/protocols/tracker/constants'
import { encodeFrame, FrameType } from '@core/protocols/chunk/codec'
import { PROTOCOL } from '@core/protocols/chunk'
import { createTestNode } from '../../helpers/nodes'
import { chunkRequests, haveRequests } from '../../helpers/rogue'

export interface HostileInit {
  type: 'init'
  /** The relay's TCP multiaddr with /p2p/<id>. */
  relay: string
  contentId: string
  chunks: number
  count: number
  deadlineAt: number
}

export type HostileParentMessage = HostileInit | { type: 'stop' }

/** Attack name → [runs, how they ended: 'ok' or an error name → count]. */
export type AttackCounts = Record<string, { runs: number, outcomes: Record<string, number> }>

export type HostileMessage =
  | { type: 'ready', setupMs: number }
  | { type: 'counts', counts: AttackCounts, final: boolean }

process.on('disconnect', () => process.exit(70))
// an attacker's own failures are the point: count them, never die of them
process.on('unhandledRejection', () => {})

const counts: AttackCounts = {}
let stopping = false

function count (attack: string, outcome: string): void {
  const c = counts[attack] ??= { runs: 0, outcomes: {} }
  c.runs++
  c.outcomes[outcome] = (c.outcomes[outcome] ?? 0) + 1
}

function send (m: HostileMessage): void {
  process.send?.(m)
}

type Rogue = Libp2p<{ tracker: TrackerClient }>

const nextTick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

/** Pace the loop: the relay's per-host connection limit (5 a second) refuses faster reconnects anyway. */
const pause = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

const ATTACKS: Array<[string, (rogue: Rogue, relay: Multiaddr, init: HostileInit, round: number) => Promise<void>]> = [
  ['pipeline-unread-hangup', async (rogue, relay, init, round) => {
    const connection = await rogue.dial(relay, { signal: AbortSignal.timeout(5_000) })
    const stream = await connection.newStream(PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    stream.pause()
    stream.send(chunkRequests(init.contentId, 300, init.chunks, 1 + round * 1000))
    await pause(200)
    if (round % 2 === 0) await connection.close()
    else connection.abort(new Error('the rogue vanished'))
  }],
  ['have-flood-unread', async (rogue, relay, init, round) => {
    const connection = await rogue.dial(relay, { signal: AbortSignal.timeout(5_000) })
    const stream = await connection.newStream(PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    stream.pause()
    for (let batch = 0; batch < 8 && stream.status === 'open'; batch++) {
      stream.send(haveRequests(init.contentId, 250, 1 + round * 10_000 + batch * 250))
      await nextTick()
    }
    await pause(200)
    stream.abort(new Error('the rogue resets'))
  }],
  ['reset-mid-frame', async (rogue, relay, init, round) => {
    const connection = await rogue.dial(relay, { signal: AbortSignal.timeout(5_000) })
    const stream = await connection.newStream(PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    stream.pause()
    stream.send(chunkRequests(init.contentId, 50, init.chunks, 1 + round * 1000))
    stream.send(encodeFrame({ type: FrameType.ChunkRequest, id: 999_999, contentId: init.contentId, index: 0 }).subarray().slice(0, 20))
    await pause(100)
    stream.abort(new Error('the rogue resets mid-frame'))
  }],
  ['tracker-flood', async (rogue, _relay, _init, round) => {
    for (let i = 0; i < 5; i++) {
      const entries = Array.from({ length: MAX_ENTRIES_PER_ANNOUNCE }, (_, j) => ({
        contentId: `${rogue.peerId.toString().slice(-8)}${(round * 5 + i).toString(16).padStart(8, '0')}${j.toString(16).padStart(8, '0')}`.padEnd(64, 'e').slice(0, 64).toLowerCase().replace(/[^0-9a-f]/g, 'e'),
        complete: true
      }))
      await rogue.services.tracker.announce(entries, { signal: AbortSignal.timeout(10_000) })
    }
  }],
  ['300-streams', async (rogue, relay) => {
    const connection = await rogue.dial(relay, { signal: AbortSignal.timeout(5_000) })
    const opened = await Promise.allSettled(Array.from({ length: 300 }, async () => await connection.newStream('/ipfs/ping/1.0.0', { signal: AbortSignal.timeout(5_000) })))
    for (const o of opened) if (o.status === 'fulfilled') o.value.abort(new Error('done'))
  }],
  ['malformed-frames', async (rogue, relay) => {
    const connection = await rogue.dial(relay, { signal: AbortSignal.timeout(5_000) })
    const stream = await connection.newStream(PROTOCOL, { signal: AbortSignal.timeout(5_000) })
    stream.send(crypto.getRandomValues(new Uint8Array(4096)))
    await pause(100)
    stream.abort(new Error('done'))
  }]
]

async function runRogue (init: HostileInit, k: number): Promise<void> {
  const relay = multiaddr(init.relay)
  const rogue = await createTestNode({ tracker: trackerClient({ tracker: relay }) }) as unknown as Rogue
  try {
    for (let round = 0; !stopping && Date.now() < init.deadlineAt; round++) {
      const [name, attack] = ATTACKS[(round + k) % ATTACKS.length]!
      try {
        await attack(rogue, relay, init, round)
        count(name, 'ok')
      } catch (err: any) {
        count(name, String(err?.name ?? 'Error'))
      }
      // a new connection next time: hang up whatever is left
      for (const c of rogue.getConnections()) c.abort(new Error('next attack'))
      await pause(250)
    }
  } finally {
    await Promise.resolve(rogue.stop()).catch(() => {})
  }
}

process.on('message', (m: HostileParentMessage) => {
  if (m.type === 'stop') {
    stopping = true
    return
  }
  const started = Date.now()
  const hardStop = setTimeout(() => { process.exit(0) }, Math.max(0, m.deadlineAt - Date.now()) + 10_000)
  hardStop.unref()
  const ticker = setInterval(() => { send({ type: 'counts', counts, final: false }) }, 5_000)
  send({ type: 'ready', setupMs: Date.now() - started })
  void Promise.all(Array.from({ length: m.count }, async (_, k) => { await runRogue(m, k) })).finally(() => {
    clearInterval(ticker)
    send({ type: 'counts', counts, final: true })
    setTimeout(() => { process.exit(0) }, 100)
  })
})
