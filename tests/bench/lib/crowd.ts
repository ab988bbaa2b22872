import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Manifest } from '@core/content/manifest'
import { REPO_ROOT } from './bridge-process'

/**
 * Many Node peers in several child processes, for the flash-crowd suite.
 * Each child (crowd-worker.ts, `node --import tsx`) runs a few bench peers
 * (startBenchPeer: libp2p on loopback TCP, an FsChunkStore each, the
 * relay's tracker) and obeys this side over the IPC channel: join a peer
 * at a given time, verify the completed files, stop.
 *
 * No child outlives the bench: `kill()` sends SIGKILL to every child and
 * runs on this process's `exit` (the bench's SIGINT/SIGTERM handler and its
 * watchdog both end in process.exit); a child whose channel closes (this
 * process died, even by SIGKILL) exits at once; and each child exits by
 * itself at its own deadline.
 */

export interface PeerSpec {
  name: string
  /** Its FsChunkStore's folder. */
  dir: string
}

export interface WorkerInit {
  type: 'init'
  /** The process's number, for messages. */
  index: number
  /** The peers' relay (their tracker, dialled beforehand): its libp2p TCP address, with /p2p/<id>. */
  tracker: string
  /** The origin's peer id: the relay whose library holds the content (the peers' own relay, unless spread over several). */
  relayId: string
  contentId: string
  manifest: Manifest
  /** The origin's HTTP fallback; none: peers and the origin's libp2p side only. */
  http?: { baseUrl: string, filename: string }
  peers: PeerSpec[]
  /** Passed to startBenchPeer (each peer stands for a host of its own). */
  inboundConnectionThreshold?: number
  /** Passed to startBenchPeer: the DHT beside the tracker, as a bridge asks them. */
  dht?: boolean
  /** Peers of a process started at once while setting up (1 by default: one after another). */
  startConcurrency?: number
  /** Epoch ms: the child exits by itself past this, whatever it is doing. */
  deadlineAt: number
}

export type ParentMessage =
  | WorkerInit
  /** Start peer `name`'s session at epoch ms `at` (now if past). */
  | { type: 'join', name: string, at: number }
  /** Hash every completed file; answer `verified`. */
  | { type: 'verify' }
  /** Where every session stands; answer `status`. */
  | { type: 'status' }
  | { type: 'stop' }

/** One origin chunk a peer stored: index, ms after its join, the origin policy's reason then, which path. */
export type OriginChunk = [index: number, ms: number, reason: string, via: 'libp2p' | 'http']

/**
 * A find answer the session got: ms after its join, other peers listed,
 * whether the origin was listed, how many members of the swarm it named
 * (-1: none given), whether the origin was listed but not marked as one
 * (a DHT answer can name a relay before its protocols are known).
 */
export type FindAnswer = [ms: number, peers: number, origin: boolean, members: number, originUnmarked: boolean]

export interface PeerReport {
  name: string
  process: number
  peerId: string
  /** Epoch ms it was asked to join at, and when its session actually started. */
  scheduledAt: number
  joinedAt: number
  /** Epoch ms its session completed (before its announcement settled). */
  doneAt: number
  /** Verified bytes from other peers (not the origin), from the origin's libp2p node, over HTTP. */
  fromPeers: number
  fromOriginLibp2p: number
  fromHttp: number
  discarded: number
  /** Other peers that sent it something. */
  peerSources: number
  /** Verified bytes from each other peer (not the origin), by peer id. */
  bySource: Record<string, number>
  timeToFirstPeerByteMs?: number
  /** First direct connection to another peer (not the origin), ms after joining. */
  firstPeerConnectedMs?: number
  dials: { attempts: number, direct: number, failed: number, relayed: number }
  /** Why its dials to other peers failed: error → count. */
  dialErrors: Record<string, number>
  finds: FindAnswer[]
  originChunks: OriginChunk[]
}

export interface Verified {
  name: string
  sha256: string
  /** Chunk bytes this peer served to others while the child ran. */
  uploaded: number
}

/** A process's event-loop delay from the first join to the verification, ms. */
export interface LoopDelay { p50: number, p99: number, max: number }

export type WorkerMessage =
  | { type: 'ready', index: number, peers: Array<{ name: string, peerId: string }>, setupMs: number }
  | { type: 'done', report: PeerReport }
  | { type: 'verified', index: number, results: Verified[], unhandled: number, loopDelayMs: LoopDelay }
  /** Every 5 s: chunks held by the process's sessions. */
  | { type: 'progress', index: number, chunks: number }
  | { type: 'status', index: number, lines: string[] }
  | { type: 'error', index: number, message: string }

const WORKER = join(REPO_ROOT, 'tests', 'bench', 'lib', 'crowd-worker.ts')

interface Child {
  index: number
  process: ChildProcess
  /** The last lines it printed (stdout and stderr), for error messages. */
  output: string[]
  exited: Promise<void>
}

export interface CrowdInit extends Omit<WorkerInit, 'type' | 'index' | 'peers'> {
  /** The peers of each process. */
  groups: PeerSpec[][]
  /** What differs for the peers of one process (by index): another relay as their tracker, no HTTP fallback (`http: undefined`). */
  perProcess?: Array<Partial<Pick<WorkerInit, 'tracker' | 'http'>>>
  /** Starting the children and their peers fails past this. */
  setupTimeoutMs: number
  /** Told every peer that completed. */
  onDone(report: PeerReport): void
  progress(message: string): void
}

export class Crowd {
  private readonly children: Child[] = []
  private readonly waiting = new Map<string, Array<(m: WorkerMessage) => void>>()
  private failure?: Error
  private readonly failed: Promise<never>
  private fail!: (err: Error) => void
  private readonly onExit = (): void => { this.kill() }
  private stopping = false
  private readonly chunks = new Map<number, number>()
  private lastProgress = Date.now()

  private constructor (private readonly init: CrowdInit) {
    this.failed = new Promise<never>((_resolve, reject) => {
      this.fail = (err) => {
        if (this.failure != null) return
        this.failure = err
        reject(err)
      }
    })
    this.failed.catch(() => {})
    process.on('exit', this.onExit)
  }

  /** Spawn one child per group, each starting its peers; resolves once every child is ready. */
  static async start (init: CrowdInit): Promise<Crowd> {
    const crowd = new Crowd(init)
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`the crowd's processes were not ready within ${init.setupTimeoutMs / 1000} s`)) }, init.setupTimeoutMs)
      })
      await crowd.race(Promise.race([Promise.all(init.groups.map(async (peers, index) => await crowd.spawn(index, peers))), timeout]))
      return crowd
    } catch (err) {
      crowd.kill()
      throw err
    } finally {
      clearTimeout(timer)
    }
  }

  /** Milliseconds since the peers last stored a chunk (as the children's 5 s reports tell). */
  get idleMs (): number {
    return Date.now() - this.lastProgress
  }

  get processes (): number {
    return this.children.length
  }

  /** Pids of the children, for checks that none is left. */
  pids (): number[] {
    return this.children.map(c => c.process.pid!).filter(p => p != null)
  }

  join (processIndex: number, name: string, at: number): void {
    this.send(processIndex, { type: 'join', name, at })
  }

  /**
   * Bounds a phase: `expired` rejects once `limitMs` passed since this call,
   * or no chunk was stored for `stallMs`, with `what()` and every child's
   * view of its sessions in the message. `stop()` ends the watch.
   */
  watch (limitMs: number, stallMs: number, what: () => string): { expired: Promise<never>, stop(): void } {
    const startedAt = Date.now()
    // a stall counts from here, not from the setting up (which has its own limit)
    this.lastProgress = startedAt
    let timer: ReturnType<typeof setInterval> | undefined
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setInterval(() => {
        const why = Date.now() - startedAt > limitMs ? `still running after ${limitMs / 1000} s` : this.idleMs > stallMs ? `no chunk stored for ${stallMs / 1000} s` : undefined
        if (why == null) return
        clearInterval(timer)
        void this.status().then(lines => { reject(new Error(`${what()}, ${why}:\n${lines.join('\n')}`)) })
      }, 1000)
    })
    expired.catch(() => {})
    return { expired, stop: () => { clearInterval(timer) } }
  }

  /** Resolves with `p`, or rejects as soon as a child fails or exits unasked. */
  async race<T> (p: Promise<T>): Promise<T> {
    return await Promise.race([p, this.failed])
  }

  /** Each child hashes its peers' completed files. */
  async verify (): Promise<{ results: Verified[], unhandled: number, loopDelayMs: LoopDelay[] }> {
    const answers = await this.race(Promise.all(this.children.map(async c => {
      const answer = this.expect(c.index, 'verified')
      this.send(c.index, { type: 'verify' })
      return await answer as Extract<WorkerMessage, { type: 'verified' }>
    })))
    return { results: answers.flatMap(a => a.results), unhandled: answers.reduce((n, a) => n + a.unhandled, 0), loopDelayMs: answers.map(a => a.loopDelayMs) }
  }

  /** Every child's view of its sessions, waiting at most `timeoutMs` (for an error message). */
  async status (timeoutMs = 3000): Promise<string[]> {
    const lines = await Promise.all(this.children.map(async c => {
      const answer = this.expect(c.index, 'status')
      try {
        this.send(c.index, { type: 'status' })
        const timeout = new Promise<string[]>(resolve => setTimeout(() => { resolve([`process ${c.index}: no answer within ${timeoutMs} ms`]) }, timeoutMs).unref())
        return await Promise.race([answer.then(m => (m as Extract<WorkerMessage, { type: 'status' }>).lines), timeout])
      } catch (err: any) {
        return [`process ${c.index}: ${err?.message ?? err}`]
      }
    }))
    return lines.flat()
  }

  /** Ask every child to stop its peers and exit; SIGKILL whatever is left after `graceMs`. */
  async stop (graceMs = 10_000): Promise<void> {
    this.stopping = true
    for (const c of this.children) {
      try { this.send(c.index, { type: 'stop' }) } catch {}
    }
    const timer = setTimeout(() => { this.kill() }, graceMs)
    await Promise.all(this.children.map(async c => { await c.exited }))
    clearTimeout(timer)
    process.off('exit', this.onExit)
  }

  /** SIGKILL every child still running (synchronous: safe in an exit handler). */
  kill (): void {
    this.stopping = true
    process.off('exit', this.onExit)
    for (const c of this.children) {
      if (c.process.exitCode == null && c.process.signalCode == null) c.process.kill('SIGKILL')
    }
  }

  private async spawn (index: number, peers: PeerSpec[]): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, DEBUG: '' }
    })
    const output: string[] = []
    const keep = (line: string): void => {
      output.push(line)
      if (output.length > 40) output.shift()
    }
    createInterface({ input: child.stdout! }).on('line', keep)
    createInterface({ input: child.stderr! }).on('line', keep)
    const exited = new Promise<void>(resolve => child.once('exit', (code, signal) => {
      if (!this.stopping) this.fail(new Error(`crowd process ${index} exited (${code ?? signal}) unasked:\n${output.join('\n')}`))
      resolve()
    }))
    child.on('error', err => { this.fail(new Error(`crowd process ${index}: ${err.message}`)) })
    const c: Child = { index, process: child, output, exited }
    this.children[index] = c
    child.on('message', (m: WorkerMessage) => { this.receive(c, m) })
    const ready = this.expect(index, 'ready')
    const { groups: _groups, onDone: _onDone, progress: _progress, setupTimeoutMs: _setup, perProcess, ...shared } = this.init
    this.send(index, { ...shared, ...perProcess?.[index], type: 'init', index, peers })
    const r = await ready as Extract<WorkerMessage, { type: 'ready' }>
    this.init.progress(`crowd process ${index} (pid ${child.pid}): ${r.peers.length} peers up in ${(r.setupMs / 1000).toFixed(1)} s`)
  }

  private receive (c: Child, m: WorkerMessage): void {
    if (m.type === 'error') {
      this.fail(new Error(`crowd process ${c.index}: ${m.message}`))
      return
    }
    if (m.type === 'done') {
      this.lastProgress = Date.now()
      this.init.onDone(m.report)
      return
    }
    if (m.type === 'progress') {
      if (m.chunks !== this.chunks.get(c.index)) this.lastProgress = Date.now()
      this.chunks.set(c.index, m.chunks)
      return
    }
    const key = `${c.index}:${m.type}`
    const list = this.waiting.get(key)
    const next = list?.shift()
    if (list?.length === 0) this.waiting.delete(key)
    next?.(m)
  }

  private async expect (index: number, type: WorkerMessage['type']): Promise<WorkerMessage> {
    return await new Promise<WorkerMessage>(resolve => {
      const key = `${index}:${type}`
      const list = this.waiting.get(key) ?? []
      list.push(resolve)
      this.waiting.set(key, list)
    })
  }

  private send (index: number, m: ParentMessage): void {
    const c = this.children[index]
    if (c == null || !c.process.connected) throw new Error(`crowd process ${index} is not connected`)
    c.process.send(m)
  }
}
