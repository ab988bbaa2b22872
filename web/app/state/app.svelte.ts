import { acquireProfile, type Profile } from '../../peer/profile'
import { streamUrl } from '../../peer/sw-protocol'
import { LocalBridge } from '../bridge/bridge.svelte'
import { answerServiceWorker, registerServiceWorker } from '../sw-client'
import { Catalogue, type Entry } from './catalogue.svelte'
import { ChatState } from './chat.svelte'
import { PeerState } from './peer.svelte'
import { Posters } from './posters.svelte'
import { Publisher } from './publisher.svelte'
import { Router } from './router.svelte'
import { Settings } from './settings.svelte'

/**
 * The whole app's state, composed once in main.ts: routing, the catalogue,
 * this tab's peer, its chat, its settings (per profile), posters, publishing
 * and the local bridge. Components receive the parts they show.
 */
export class AppState {
  readonly router = new Router()
  readonly catalogue: Catalogue
  readonly peer = new PeerState()
  readonly chat = new ChatState()
  readonly publisher: Publisher
  readonly posters: Posters
  settings = $state.raw<Settings | undefined>(undefined)
  bridge = $state.raw<LocalBridge | undefined>(undefined)
  /**
   * With `localStorage['pipbingo:chat-frames'] = 'on'`: the chat frames this
   * tab wrote and read as they crossed the wire (sealed, or not), the last
   * 10,000, for diagnostics and the tests (`window.pipbingo.chat.frames()`).
   */
  readonly chatFrames: Array<{ direction: 'in' | 'out', peer: string, frame: Uint8Array }> | undefined =
    globalThis.localStorage?.getItem('pipbingo:chat-frames') === 'on' ? [] : undefined

  /** Opening `?play=…`: no page is shown until the player's is. */
  opening = $state(new URL(location.href).searchParams.has('play'))

  constructor (readonly origin: string) {
    this.catalogue = new Catalogue(origin)
    this.publisher = new Publisher(origin)
    this.posters = new Posters(contentId => { this.peer.peer?.release(contentId) })
  }

  /** Everything up: resolves once the catalogue is loaded and the peer has started (or fallen back). */
  async start (): Promise<void> {
    const catalogue = this.catalogue.load().then(() => { this.catalogue.follow() })
    await Promise.all([catalogue, this.startPeer()])
    const wanted = new URL(location.href).searchParams.get('play')
    try {
      if (wanted != null) await this.openFromLink(wanted)
    } finally {
      this.opening = false
    }
  }

  private async startPeer (): Promise<void> {
    let profile: Profile | undefined
    try {
      profile = await acquireProfile()
      const settings = this.settings = new Settings(profile.name)
      this.startBridge(settings)
      if (!await registerServiceWorker()) throw new Error('this browser has no service workers')
      // libp2p is most of the app's code: loaded apart, so the catalogue renders before it is even parsed
      const { TabPeer } = await import('../../peer/tab-peer')
      const peer = await TabPeer.start({
        origin: this.origin,
        profile,
        p2p: settings.p2p,
        displayName: settings.displayName,
        uploadLimit: settings.uploadLimit,
        capBytes: settings.cacheCapBytes,
        ...(this.chatFrames != null
          ? {
              chatTap: (direction: 'in' | 'out', peer: string, frame: Uint8Array) => {
                this.chatFrames!.push({ direction, peer, frame: frame.slice() })
                if (this.chatFrames!.length > 10_000) this.chatFrames!.shift()
              }
            }
          : {})
      })
      answerServiceWorker(async request => await peer.answer(request))
      this.peer.attach(peer)
      // the chat's history loading must not take peer-to-peer down with it
      this.chat.attach(peer.chat, profile.name).catch((err: any) => { this.chat.error = `The chat could not start: ${String(err?.message ?? err)}` })
    } catch (err: any) {
      if (this.settings == null) this.startBridge(new Settings(profile?.name ?? 'p0'))
      this.peer.fail(err?.name === 'NoFreeProfileError' || err?.name === 'RelayUnreachableError'
        ? String(err.message)
        : `Peer-to-peer is unavailable in this tab (${String(err?.message ?? err)}): videos play from the server.`)
    }
  }

  private startBridge (settings: Settings): void {
    const url = new URL(location.href).searchParams.get('bridge') ?? settings.bridgeUrl
    const bridge = new LocalBridge(url)
    bridge.start()
    this.bridge = bridge
  }

  /** `?play=<filename or content id>`: straight to the player (links, tests). */
  private async openFromLink (nameOrId: string): Promise<void> {
    const entry = this.catalogue.find(nameOrId)
    if (entry == null) return
    this.router.go(`/watch/${entry.contentId}`, { replace: true })
    await this.prepare(entry)
  }

  /**
   * What the player's `<video>` should load for an entry: the service
   * worker's stream of this tab's cache (fed by peers and the origin), or the
   * origin's URL when this tab has no peer.
   */
  async prepare (entry: Entry): Promise<{ src: string } | { error: string }> {
    const peer = this.peer.peer
    if (peer == null) {
      if (entry.url != null) return { src: entry.url }
      return { error: entry.source === 'relay' ? 'This video is on another relay of this network: it comes from peers, and peer-to-peer is unavailable in this tab.' : 'This video is shared only by other browsers, and peer-to-peer is unavailable in this tab.' }
    }
    try {
      await peer.play(entry.contentId)
      return { src: streamUrl(peer.profile.name, entry.contentId) }
    } catch (err: any) {
      if (entry.url != null) return { src: entry.url }
      return { error: `This video cannot be loaded: ${String(err?.message ?? err)}` }
    }
  }

  /** The source a poster capture reads from. */
  posterSource (entry: Entry): string | undefined {
    const peer = this.peer.peer
    if (peer != null) return streamUrl(peer.profile.name, entry.contentId)
    return entry.url
  }

  /** Settings changed: apply what can be applied now, remember them. */
  async applySettings (): Promise<void> {
    const settings = this.settings
    if (settings == null) return
    settings.save()
    const peer = this.peer.peer
    if (peer == null) return
    peer.setUploadLimit(settings.uploadLimit)
    await peer.store.setCap(settings.cacheCapBytes)
    await peer.setP2P(settings.p2p)
    this.peer.refreshUsage(0)
  }
}
