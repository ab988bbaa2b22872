/**
 * The web app: Svelte 5 over this tab's peer (web/peer/). `window.pipbingo`
 * is the page's scripting surface (tests and the bench use it): `stats()`,
 * `ready`, `play(nameOrId)`, `setUploadLimit(bytesPerSecond)`, and `chat`
 * (send, retry, negotiate, history, peers, contacts: web/peer/chat/).
 */
import { mount } from 'svelte'
import App from './app/App.svelte'
import { PLAYER_READY_EVENT } from './app/player-events'
import { AppState } from './app/state/app.svelte'
import './app/theme.css'
import { toBase64 } from '@core/protocols/chat/base64'
import type { MessageRecord } from './peer/chat/chat-db'
import type { ChatPeer } from './peer/chat/tab-chat'
import type { TabPeer } from './peer/tab-peer'

/** A contact as the page shows it: no key material, only what identifies it. */
interface ContactView {
  peerId: string
  name: string
  publicKey: string | null
  fingerprint: string | null
  keyChanged: boolean
}

declare global {
  interface Window {
    pipbingo: {
      stats: () => unknown
      ready: Promise<void>
      /** Open a video in the player; resolves once its `<video>` has a source. */
      play: (nameOrId: string) => Promise<void>
      /** Bytes per second this tab uploads at most (Infinity: no limit, 0: none). */
      setUploadLimit: (bytesPerSecond: number) => void
      chat: {
        /** Send a message (sealed; keys are negotiated first if needed) to a peer id or a name. */
        send: (to: string, text: string) => Promise<MessageRecord>
        /** Negotiate keys now; resolves with the session's fingerprint. */
        negotiate: (to: string) => Promise<string>
        history: (peer?: string) => Promise<MessageRecord[]>
        peers: () => ChatPeer[]
        contacts: () => ContactView[]
        /** A libp2p ping to the peer, ms (the bench's baseline for a message's round trip). */
        ping: (to: string) => Promise<number>
        /** Send a failed message or file again (the same record; a file only while this page has it); resolves with the record as it ends. */
        retry: (seq: number) => Promise<MessageRecord>
        /** Send a file picked or made in the page (sealed; refused over 256 MiB before anything is sent). */
        sendFile: (to: string, file: File) => Promise<MessageRecord>
        /** The chat frames as they crossed the wire, base64 (only with localStorage `pipbingo:chat-frames` = `on`). */
        frames: () => Array<{ direction: 'in' | 'out', peer: string, frame: string }>
      }
    }
  }
}

const app = new AppState(location.origin)
mount(App, { target: document.getElementById('app')!, props: { app } })

/** Resolves when the player has set the `<video>`'s source for this content. */
function playerReady (contentId: string): Promise<void> {
  return new Promise(resolve => {
    const onReady = (e: Event): void => {
      if ((e as CustomEvent<string>).detail !== contentId) return
      removeEventListener(PLAYER_READY_EVENT, onReady)
      resolve()
    }
    addEventListener(PLAYER_READY_EVENT, onReady)
  })
}

async function play (nameOrId: string): Promise<void> {
  let entry = app.catalogue.find(nameOrId)
  if (entry == null) {
    await app.catalogue.load()
    entry = app.catalogue.find(nameOrId)
  }
  if (entry == null) throw new Error(`No video ${nameOrId} in the catalogue`)
  const ready = playerReady(entry.contentId)
  app.router.go(`/watch/${entry.contentId}`)
  await ready
}

function peer (): TabPeer {
  const p = app.peer.peer
  if (p == null) throw new Error('This tab has no peer: chat needs peer-to-peer')
  return p
}

const wanted = new URL(location.href).searchParams.get('play')
window.pipbingo = {
  stats: () => app.peer.peer?.snapshot(),
  ready: app.start().then(async () => {
    const entry = wanted == null ? undefined : app.catalogue.find(wanted)
    if (entry != null && !document.querySelector('video')?.src) await playerReady(entry.contentId)
  }),
  play,
  setUploadLimit: (bytesPerSecond: number) => { app.peer.peer?.setUploadLimit(bytesPerSecond) },
  chat: {
    send: async (to, text) => await peer().chat.send(to, text),
    negotiate: async (to) => await peer().chat.negotiate(to),
    history: async (of) => await peer().chat.history(of),
    peers: () => peer().chat.list(),
    ping: async (to) => await peer().chat.ping(to),
    sendFile: async (to, file) => await peer().chat.sendFile(to, file),
    retry: async (seq) => await peer().chat.retry(seq),
    frames: () => (app.chatFrames ?? []).map(f => ({ direction: f.direction, peer: f.peer, frame: toBase64(f.frame) })),
    contacts: () => peer().chat.contacts().map(c => ({
      peerId: c.peerId, name: c.name, publicKey: c.publicKey ?? null, fingerprint: c.session?.fingerprint ?? null, keyChanged: c.keyChanged != null
    }))
  }
}
