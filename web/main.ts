/**
 * The web app: Svelte 5 over this tab's peer (web/peer/). `window.pipbingo`
 * is the page's scripting surface (tests and the bench use it): `stats()`,
 * `ready`, `play(nameOrId)`, `setUploadLimit(bytesPerSecond)`.
 */
import { mount } from 'svelte'
import App from './app/App.svelte'
import { PLAYER_READY_EVENT } from './app/player-events'
import { AppState } from './app/state/app.svelte'
import './app/theme.css'

declare global {
  interface Window {
    pipbingo: {
      stats: () => unknown
      ready: Promise<void>
      /** Open a video in the player; resolves once its `<video>` has a source. */
      play: (nameOrId: string) => Promise<void>
      /** Bytes per second this tab uploads at most (Infinity: no limit, 0: none). */
      setUploadLimit: (bytesPerSecond: number) => void
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

const wanted = new URL(location.href).searchParams.get('play')
window.pipbingo = {
  stats: () => app.peer.peer?.snapshot(),
  ready: app.start().then(async () => {
    const entry = wanted == null ? undefined : app.catalogue.find(wanted)
    if (entry != null && !document.querySelector('video')?.src) await playerReady(entry.contentId)
  }),
  play,
  setUploadLimit: (bytesPerSecond: number) => { app.peer.peer?.setUploadLimit(bytesPerSecond) }
}
