import type { Logger, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { ContentId } from '@core/content/manifest'
import type { ChunkProtocol, HaveSubscription } from '@core/protocols/chunk'
import type { TrackerRegistry } from '@core/protocols/tracker/registry'
import { Bitfield } from '@core/swarm/bitfield'

export interface HolderChecksInit {
  chunk: ChunkProtocol
  registry: TrackerRegistry
  /** How many chunks a content the catalogue lists has; undefined for any other (nobody is asked about those). */
  chunks(contentId: ContentId): number | undefined
  log: Logger
}

/** Subscriptions one peer keeps at once (the chunk server allows 16 a stream); past it, a one-off HAVE. */
export const MAX_WATCHED_PER_PEER = 8
/** Checks of one peer under way at once. */
const MAX_CHECKS_PER_PEER = 4
/** A peer that answers BUSY is asked again after this long, this many times. */
const BUSY_RETRY_MS = 2_000
const BUSY_RETRIES = 3

interface Watch {
  peer: PeerId
  contentId: ContentId
  controller: AbortController
  subscription?: HaveSubscription
}

/**
 * The relay asks each peer that announces a content its catalogue lists
 * what it holds, over the chunk protocol on the connection the peer already
 * has to it (never a dial: a peer cannot make the relay connect anywhere),
 * and records the answer in the registry (`check`): only a holder that
 * answered is counted by `/list` (a peer: one chunk at least; a seeder: all
 * of them). The ask is a HAVE subscription, so a peer that starts empty
 * and fetches is counted as its chunks land, and a seeder once it has
 * them all (its subscription then ends). A peer that cannot answer (no chunk
 * protocol, content unknown to it) is `failed`: not counted, and not given
 * to others by a find. One that does not answer in time, or stays BUSY,
 * stays as it was (not counted) until its next announcement. Bounded: MAX_WATCHED_PER_PEER subscriptions per peer
 * (past it a one-off HAVE, refreshed when the peer announces again),
 * MAX_CHECKS_PER_PEER asks at once.
 */
export class HolderChecks {
  private readonly watches = new Map<string, Watch>()
  private readonly byPeer = new Map<string, Set<string>>()
  private readonly byContent = new Map<ContentId, Set<string>>()
  private readonly running = new Map<string, number>()
  private readonly queued = new Map<string, Array<() => void>>()
  private readonly offChange: () => void
  private stopped = false

  constructor (private readonly init: HolderChecksInit) {
    // an entry that left the registry (withdrawn, expired, its peer gone) is no longer watched
    this.offChange = init.registry.onChange(ids => {
      for (const id of ids) {
        for (const key of [...this.byContent.get(id) ?? []]) {
          const watch = this.watches.get(key)
          if (watch != null && init.registry.checkOf(watch.peer.toString(), id) == null) this.end(key)
        }
      }
    })
  }

  /** A peer announced these contents: ask it about the ones the catalogue lists and that are not being watched. */
  announced (peer: PeerId, entries: Array<{ contentId: ContentId }>): void {
    for (const { contentId } of entries) this.check(peer, contentId)
  }

  /** The catalogue lists a content now (published, added to the library): ask every peer that announced it. */
  listed (contentId: ContentId): void {
    for (const peer of this.init.registry.holders(contentId)) {
      try {
        this.check(peerIdFromString(peer), contentId)
      } catch {} // an entry made locally under a name that is no peer id
    }
  }

  stop (): void {
    this.stopped = true
    this.offChange()
    for (const key of [...this.watches.keys()]) this.end(key)
  }

  private check (peer: PeerId, contentId: ContentId): void {
    if (this.stopped) return
    const chunks = this.init.chunks(contentId)
    if (chunks == null) return
    const key = `${peer.toString()} ${contentId}`
    if (this.watches.has(key)) return
    const state = this.init.registry.checkOf(peer.toString(), contentId)
    if (state == null) return
    const watch: Watch = { peer, contentId, controller: new AbortController() }
    this.watches.set(key, watch)
    const mine = this.byPeer.get(peer.toString()) ?? new Set()
    mine.add(key)
    this.byPeer.set(peer.toString(), mine)
    const same = this.byContent.get(contentId) ?? new Set()
    same.add(key)
    this.byContent.set(contentId, same)
    void this.limited(peer.toString(), async () => { await this.ask(watch, key, chunks) })
  }

  private async ask (watch: Watch, key: string, chunks: number): Promise<void> {
    const { peer, contentId, controller } = watch
    const id = peer.toString()
    const signal = controller.signal
    let keep = false
    try {
      for (let attempt = 0; ; attempt++) {
        if (signal.aborted) return
        try {
          const channel = await this.init.chunk.channel(peer, { existingOnly: true, signal })
          const have = new Bitfield(chunks)
          const record = (): void => {
            this.init.registry.check(id, contentId, have.count() === 0 ? 'none' : have.isComplete() ? 'all' : 'part')
          }
          if (this.watching(id) >= MAX_WATCHED_PER_PEER) {
            const bitfield = await channel.have(contentId, { signal })
            if (bitfield == null) { this.init.registry.check(id, contentId, 'failed'); return }
            fillFrom(have, bitfield)
            record()
            return
          }
          const early: number[] = []
          let installed = false
          const onUpdate = (indexes: number[]): void => {
            if (!installed) { early.push(...indexes); return }
            for (const i of indexes) if (i < chunks) have.set(i)
            record()
            if (have.isComplete()) this.end(key)
          }
          const subscription = await channel.subscribeHave(contentId, onUpdate, { signal })
          if (subscription == null) { this.init.registry.check(id, contentId, 'failed'); return }
          watch.subscription = subscription
          fillFrom(have, subscription.bitfield)
          for (const i of early) if (i < chunks) have.set(i)
          installed = true
          record()
          keep = !have.isComplete() && !signal.aborted
          if (keep) channel.addEventListener('close', () => { this.end(key) }, { once: true })
          return
        } catch (err: any) {
          if (signal.aborted) return
          if (err?.name === 'PeerBusyError' && attempt < BUSY_RETRIES) {
            await new Promise(resolve => setTimeout(resolve, BUSY_RETRY_MS))
            continue
          }
          // a peer without the chunk protocol cannot hold anything for anyone; one that is slow or busy
          // (a loaded tab in a crowd) stays as it was, asked again at its next announcement
          const cannot = err?.name === 'UnsupportedProtocolError'
          this.init.log('%s %s say what it holds of %s: %s', id, cannot ? 'cannot' : 'did not', contentId, err?.message ?? err)
          if (cannot) this.init.registry.check(id, contentId, 'failed')
          return
        }
      }
    } finally {
      if (!keep) this.end(key)
    }
  }

  private watching (peer: string): number {
    let n = 0
    for (const key of this.byPeer.get(peer) ?? []) if (this.watches.get(key)?.subscription != null) n++
    return n
  }

  private end (key: string): void {
    const watch = this.watches.get(key)
    if (watch == null) return
    this.watches.delete(key)
    watch.subscription?.cancel()
    watch.controller.abort()
    const mine = this.byPeer.get(watch.peer.toString())
    mine?.delete(key)
    if (mine?.size === 0) this.byPeer.delete(watch.peer.toString())
    const same = this.byContent.get(watch.contentId)
    same?.delete(key)
    if (same?.size === 0) this.byContent.delete(watch.contentId)
  }

  /** Run `fn` within MAX_CHECKS_PER_PEER asks at once for this peer. */
  private async limited (peer: string, fn: () => Promise<void>): Promise<void> {
    if ((this.running.get(peer) ?? 0) >= MAX_CHECKS_PER_PEER) {
      await new Promise<void>(resolve => {
        const q = this.queued.get(peer) ?? []
        q.push(resolve)
        this.queued.set(peer, q)
      })
    }
    this.running.set(peer, (this.running.get(peer) ?? 0) + 1)
    try {
      await fn()
    } catch (err: any) {
      this.init.log('checking %s failed: %s', peer, err?.message ?? err)
    } finally {
      const n = (this.running.get(peer) ?? 1) - 1
      if (n === 0) this.running.delete(peer)
      else this.running.set(peer, n)
      const q = this.queued.get(peer)
      const next = q?.shift()
      if (q?.length === 0) this.queued.delete(peer)
      next?.()
    }
  }
}

function fillFrom (have: Bitfield, bytes: Uint8Array): void {
  for (let i = 0; i < have.length; i++) if ((((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1) have.set(i)
}
