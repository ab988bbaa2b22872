/**
 * The web app, until the Svelte app replaces it: the catalogue, a player fed
 * by the service worker from this tab's IndexedDB (chunks from other tabs
 * over WebRTC, from the origin when nobody has them), and the P2P overlay.
 * `window.pipbingo.stats()` returns the overlay's numbers as JSON.
 */
import * as z from 'zod/mini'
import { answerServiceWorker, registerServiceWorker } from './app/sw-client'
import { StatsPanel } from './app/stats-panel'
import { streamUrl } from './peer/sw-protocol'
import { TabPeer } from './peer/tab-peer'

const entrySchema = z.object({
  filename: z.string(),
  title: z.string(),
  size: z.number(),
  mime: z.string(),
  contentId: z.string(),
  duration: z.optional(z.number()),
  url: z.string().check(z.startsWith('/videos/'))
})
type Entry = z.infer<typeof entrySchema>

function element<T extends HTMLElement> (id: string): T {
  const found = document.getElementById(id)
  if (found == null) throw new Error(`#${id} is missing from index.html`)
  return found as T
}

const player = element<HTMLVideoElement>('player')
const nowPlaying = element<HTMLParagraphElement>('now-playing')
const list = element<HTMLUListElement>('catalogue')
const status = element<HTMLParagraphElement>('status')
const peerStatus = element<HTMLParagraphElement>('peer-status')
const panel = new StatsPanel(element('stats'), element<HTMLCanvasElement>('chunk-map'))

let peer: TabPeer | undefined
let playing: Entry | undefined

function formatSize (bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`
}

function formatDuration (seconds: number): string {
  const s = Math.round(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

async function play (entry: Entry, button?: HTMLButtonElement): Promise<void> {
  for (const b of list.querySelectorAll('button')) b.removeAttribute('aria-current')
  button?.setAttribute('aria-current', 'true')
  playing = entry
  player.hidden = false
  nowPlaying.textContent = entry.title
  if (peer != null) {
    try {
      await peer.watch(entry.contentId)
      player.src = streamUrl(peer.profile.name, entry.contentId)
    } catch (err) {
      nowPlaying.textContent = `${entry.title} — from the origin (${(err as Error).message})`
      player.src = entry.url
    }
  } else {
    player.src = entry.url
  }
  player.play().catch(() => { /* autoplay refused: the controls are there */ })
}

function render (entries: Entry[]): void {
  list.replaceChildren(...entries.map(entry => {
    const button = document.createElement('button')
    const title = document.createElement('span')
    title.textContent = entry.title
    const meta = document.createElement('span')
    meta.className = 'meta'
    meta.textContent = [entry.duration != null ? formatDuration(entry.duration) : undefined, formatSize(entry.size)]
      .filter(Boolean).join(' · ')
    button.append(title, meta)
    button.addEventListener('click', () => { void play(entry, button) })
    const item = document.createElement('li')
    item.append(button)
    return item
  }))
  status.textContent = entries.length === 0 ? 'No videos yet.' : ''
}

async function loadCatalogue (): Promise<Entry[]> {
  try {
    const res = await fetch('/list', { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`the relay answered ${res.status}`)
    const entries = z.array(entrySchema).parse(await res.json())
    render(entries)
    return entries
  } catch (err) {
    status.textContent = `Could not load the catalogue: ${(err as Error).message}`
    return []
  }
}

async function startPeer (): Promise<void> {
  peerStatus.textContent = 'Joining the swarm…'
  try {
    if (!await registerServiceWorker()) throw new Error('this browser has no service workers')
    peer = await TabPeer.start({ origin: location.origin })
    answerServiceWorker(async request => await peer!.answer(request))
    peerStatus.textContent = `Peer ${peer.node.peerId.toString().slice(-8)} · profile ${peer.profile.name}`
    setInterval(() => { if (peer != null) panel.render(peer.snapshot()) }, 500)
  } catch (err) {
    peer = undefined
    peerStatus.textContent = `Playing from the origin only: ${(err as Error).message}`
  }
}

// the playhead drives the critical window
const followPlayhead = (): void => {
  if (peer == null || playing == null || !Number.isFinite(player.duration) || player.duration === 0) return
  peer.seek(playing.contentId, (player.currentTime / player.duration) * playing.size)
}
player.addEventListener('seeking', followPlayhead)
player.addEventListener('timeupdate', followPlayhead)
player.addEventListener('error', () => {
  nowPlaying.textContent = `Playback failed${player.error?.message ? `: ${player.error.message}` : ''}`
})

declare global {
  interface Window {
    pipbingo: {
      stats: () => unknown
      ready: Promise<void>
      play: (contentId: string) => Promise<void>
      /** Bytes per second this tab uploads at most (Infinity: no limit, 0: none). */
      setUploadLimit: (bytesPerSecond: number) => void
    }
  }
}

const ready = (async () => {
  const [entries] = await Promise.all([loadCatalogue(), startPeer()])
  // ?play=<content id or filename> opens a video directly (links, tests)
  const wanted = new URLSearchParams(location.search).get('play')
  const entry = entries.find(e => e.contentId === wanted || e.filename === wanted)
  if (entry != null) await play(entry)
})()

window.pipbingo = {
  stats: () => peer?.snapshot(),
  ready,
  setUploadLimit: (bytesPerSecond: number) => { peer?.limiter.setLimit(bytesPerSecond) },
  play: async (contentId: string) => {
    const entries = await loadCatalogue()
    const entry = entries.find(e => e.contentId === contentId || e.filename === contentId)
    if (entry == null) throw new Error(`No video ${contentId} in the catalogue`)
    await play(entry)
  }
}
