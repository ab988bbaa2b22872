import type { Connection, Logger, PeerId } from '@libp2p/interface'
import { filenameKey } from '@core/content/filename'
import type { ContentId, Manifest } from '@core/content/manifest'
import { askList, askManifest, type RemoteVideo } from '@core/protocols/catalogue'
import { delay, type AbortOptions } from '@core/util/abort'
import { RemoteManifestError } from './errors'
import { ManifestCache } from './manifest-cache'

/** A video another relay has in its library, and which relay that is. */
export interface RemoteEntry extends RemoteVideo {
  /** The peer id of the relay whose library holds it. */
  relay: string
}

export interface RemoteCataloguesInit {
  /** The configured peer relays, in the order given: a content or name two of them list is taken from the first. */
  relays: readonly PeerId[]
  /** An open connection to a peer relay, if there is one (links.ts). */
  connection(peer: PeerId): Pick<Connection, 'newStream'> | undefined
  /** How often a connected peer relay is asked for its list; default 30 s. */
  pollIntervalMs?: number
  /** How long a lost peer relay's videos stay listed; default 2 min. */
  graceMs?: number
  /** Verified manifests kept in memory; default 64 MiB. */
  maxCachedManifestBytes?: number
  /**
   * The pause between two manifests fetched ahead (after each list, the
   * manifests of its videos not cached yet, one at a time); default 2 s:
   * half of what a relay lets a peer that did not join it back ask a minute.
   */
  prefetchIntervalMs?: number
  log: Logger
  /** The protocol's requests (tests may give others). */
  ask?: { list: typeof askList, manifest: typeof askManifest }
}

export const DEFAULT_POLL_INTERVAL_MS = 30_000
export const DEFAULT_GRACE_MS = 2 * 60_000
export const DEFAULT_PREFETCH_INTERVAL_MS = 2_000
const DEFAULT_MAX_CACHED_MANIFEST_BYTES = 64 * 1024 * 1024

interface RelayState {
  peer: PeerId
  key: string
  videos: RemoteVideo[]
  /** The last list as sent (JSON): a poll that brings the same list tells no one. */
  fingerprint: string
  up: boolean
  polling: boolean
  prefetching: boolean
  /**
   * Videos whose manifest could not be fetched ahead: not asked ahead again
   * until the list changes or the link comes up again (a viewer's request
   * still asks), so that a relay that lies is not asked after every poll.
   */
  prefetchFailed: Set<ContentId>
  poller?: ReturnType<typeof setInterval>
  grace?: ReturnType<typeof setTimeout>
}

/**
 * The libraries of the configured peer relays, as this relay lists them:
 * asked for (`/pipbingo/catalogue/1.0.0` list) when a link comes up and
 * every `pollIntervalMs` while it stays up; kept for `graceMs` after a link
 * is lost, then dropped. A manifest is asked of the relay that lists the
 * video, verified against its content id, and cached: when a viewer asks,
 * and ahead, after each list, for the videos whose manifests fit in the
 * cache's free room. Fetched ahead, a manifest is there when the relay that
 * lists the video has left: its viewers here can still start it from peers.
 * One that could not be fetched ahead is asked ahead again only when the
 * list changes or the link comes up again.
 */
export class RemoteCatalogues {
  private readonly relays = new Map<string, RelayState>()
  private readonly listeners = new Set<() => void>()
  private readonly cache: ManifestCache
  private readonly fetching = new Map<ContentId, Promise<Manifest | undefined>>()
  private readonly ask: NonNullable<RemoteCataloguesInit['ask']>
  private readonly pollIntervalMs: number
  private readonly graceMs: number
  private readonly prefetchIntervalMs: number
  private merged: RemoteEntry[] = []
  private byId = new Map<ContentId, RemoteEntry>()
  private stopped = false
  private readonly stopping = new AbortController()

  constructor (private readonly init: RemoteCataloguesInit) {
    for (const peer of init.relays) {
      const key = peer.toString()
      if (!this.relays.has(key)) this.relays.set(key, { peer, key, videos: [], fingerprint: '[]', up: false, polling: false, prefetching: false, prefetchFailed: new Set() })
    }
    this.cache = new ManifestCache(init.maxCachedManifestBytes ?? DEFAULT_MAX_CACHED_MANIFEST_BYTES)
    this.ask = init.ask ?? { list: askList, manifest: askManifest }
    this.pollIntervalMs = init.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS
    this.graceMs = init.graceMs ?? DEFAULT_GRACE_MS
    this.prefetchIntervalMs = init.prefetchIntervalMs ?? DEFAULT_PREFETCH_INTERVAL_MS
  }

  /**
   * Every peer relay's videos: in the order of the relays, then of their
   * lists; a content or a name (filenameKey) an earlier one lists is left out.
   */
  entries (): readonly RemoteEntry[] {
    return this.merged
  }

  byContentId (contentId: ContentId): RemoteEntry | undefined {
    return this.byId.get(contentId)
  }

  /** Manifests of listed videos held in the cache. */
  manifestsHeld (): number {
    return this.cache.size
  }

  /** Be told when `entries()` changed; returns the unsubscribe function. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** A link came up: ask for its list now, then every poll interval. */
  up (peer: PeerId): void {
    const state = this.relays.get(peer.toString())
    if (state == null || this.stopped) return
    clearTimeout(state.grace)
    state.grace = undefined
    state.up = true
    state.prefetchFailed.clear()
    clearInterval(state.poller)
    state.poller = setInterval(() => { void this.poll(state) }, this.pollIntervalMs)
    state.poller.unref?.()
    void this.poll(state)
  }

  /** A link was lost: stop asking; its videos stay listed for the grace period. */
  down (peer: PeerId): void {
    const state = this.relays.get(peer.toString())
    if (state == null || this.stopped) return
    state.up = false
    clearInterval(state.poller)
    state.poller = undefined
    if (state.grace != null) return
    state.grace = setTimeout(() => {
      state.grace = undefined
      if (state.up) return
      this.init.log('peer relay %s gone for %d ms: its %d videos leave the catalogue', state.key, this.graceMs, state.videos.length)
      this.replace(state, [])
    }, this.graceMs)
    state.grace.unref?.()
  }

  /**
   * The manifest of a video a peer relay lists, from the cache or asked of
   * that relay and verified against `contentId`; undefined when no peer relay
   * lists it or the relay no longer has it. RemoteManifestError when the
   * relay cannot be asked or sends a manifest that is not this content's.
   */
  async manifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
    const entry = this.byContentId(contentId)
    if (entry == null) return undefined
    const cached = this.cache.get(contentId)
    if (cached != null) return cached
    let fetching = this.fetching.get(contentId)
    if (fetching == null) {
      fetching = this.fetch(entry, options).finally(() => { this.fetching.delete(contentId) })
      this.fetching.set(contentId, fetching)
    }
    return await fetching
  }

  stop (): void {
    this.stopped = true
    this.stopping.abort()
    for (const state of this.relays.values()) {
      clearInterval(state.poller)
      clearTimeout(state.grace)
    }
    this.listeners.clear()
  }

  private async fetch (entry: RemoteEntry, options?: AbortOptions): Promise<Manifest | undefined> {
    const state = this.relays.get(entry.relay)
    const connection = state == null ? undefined : this.init.connection(state.peer)
    if (state == null || connection == null) throw new RemoteManifestError(`The relay that lists "${entry.filename}" (${entry.relay}) is not connected now`)
    let manifest: Manifest | undefined
    try {
      manifest = await this.ask.manifest(connection, entry.contentId, options)
    } catch (err: any) {
      this.init.log.error('peer relay %s gave no valid manifest for %s: %s', entry.relay, entry.contentId, err?.message)
      if (err?.name === 'ContentIdMismatchError' || err?.name === 'InvalidManifestError') {
        throw new RemoteManifestError(`The relay that lists "${entry.filename}" (${entry.relay}) sent a manifest that is not this video's: ${err.message}`)
      }
      throw new RemoteManifestError(`The relay that lists "${entry.filename}" (${entry.relay}) did not give its manifest: ${err?.message ?? err}`)
    }
    if (manifest == null) return undefined
    if (manifest.size !== entry.size || manifest.chunkSize !== entry.chunkSize) {
      throw new RemoteManifestError(`The relay that lists "${entry.filename}" (${entry.relay}) lists it with another size than its manifest has`)
    }
    // listed still (the relay may have left or changed its list meanwhile)
    if (this.byContentId(entry.contentId) != null) this.cache.set(entry.contentId, manifest)
    return manifest
  }

  private async poll (state: RelayState): Promise<void> {
    if (state.polling || !state.up || this.stopped) return
    const connection = this.init.connection(state.peer)
    if (connection == null) return
    state.polling = true
    try {
      const videos = await this.ask.list(connection)
      if (state.up && !this.stopped) this.replace(state, videos)
      void this.prefetch(state)
    } catch (err: any) {
      // what it listed before stays: a relay that sends garbage once is not a relay that left
      this.init.log.error('peer relay %s: no list (%s)', state.key, err?.message)
    } finally {
      state.polling = false
    }
  }

  /**
   * The manifests of a peer relay's videos that are neither cached nor being
   * fetched, one at a time, while the relay is up; those that do not fit in
   * the cache's free room are left to viewers (never evicting one a viewer
   * used).
   */
  private async prefetch (state: RelayState): Promise<void> {
    if (state.prefetching) return
    state.prefetching = true
    try {
      let first = true
      for (const video of state.videos) {
        if (!state.up || this.stopped) return
        if (this.byId.get(video.contentId)?.relay !== state.key || this.cache.has(video.contentId) || this.fetching.has(video.contentId) || state.prefetchFailed.has(video.contentId)) continue
        if (ManifestCache.estimate(video.chunks) > this.cache.free()) continue
        // stop() ends the pause at once
        if (!first) await delay(this.prefetchIntervalMs, { signal: this.stopping.signal }).catch(() => {})
        first = false
        if (!state.up || this.stopped) return
        // a failure is logged by fetch(); a viewer's request later asks again
        await this.manifest(video.contentId).catch(() => { state.prefetchFailed.add(video.contentId) })
      }
    } finally {
      state.prefetching = false
    }
  }

  private replace (state: RelayState, videos: RemoteVideo[]): void {
    const fingerprint = JSON.stringify(videos)
    if (fingerprint === state.fingerprint) return
    state.videos = videos
    state.fingerprint = fingerprint
    state.prefetchFailed.clear()
    this.merge()
    for (const listener of [...this.listeners]) {
      try {
        listener()
      } catch (err) {
        this.init.log.error('a remote catalogue listener failed: %s', (err as Error).message)
      }
    }
  }

  private merge (): void {
    const ids = new Set<ContentId>()
    const names = new Set<string>()
    const merged: RemoteEntry[] = []
    for (const state of this.relays.values()) {
      for (const video of state.videos) {
        const name = filenameKey(video.filename)
        if (ids.has(video.contentId) || names.has(name)) continue
        ids.add(video.contentId)
        names.add(name)
        merged.push({ ...video, relay: state.key })
      }
    }
    this.merged = merged
    this.byId = new Map(merged.map(e => [e.contentId, e]))
    this.cache.retain(id => ids.has(id))
  }
}
