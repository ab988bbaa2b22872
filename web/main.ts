/**
 * Placeholder web app: list the relay's catalogue and play a video from the
 * origin over HTTP (`/videos/<name>`, with ranges). The Svelte app with the
 * libp2p browser peer replaces this.
 */
import * as z from 'zod/mini'

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

function formatSize (bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`
}

function formatDuration (seconds: number): string {
  const s = Math.round(seconds)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

function play (entry: Entry, button: HTMLButtonElement): void {
  for (const b of list.querySelectorAll('button')) b.removeAttribute('aria-current')
  button.setAttribute('aria-current', 'true')
  player.hidden = false
  player.src = entry.url
  nowPlaying.textContent = entry.title
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
    button.addEventListener('click', () => { play(entry, button) })
    const item = document.createElement('li')
    item.append(button)
    return item
  }))
  status.textContent = entries.length === 0 ? 'No videos yet.' : ''
}

async function load (): Promise<void> {
  try {
    const res = await fetch('/list', { signal: AbortSignal.timeout(10_000) })
    if (!res.ok) throw new Error(`the relay answered ${res.status}`)
    render(z.array(entrySchema).parse(await res.json()))
  } catch (err) {
    status.textContent = `Could not load the catalogue: ${(err as Error).message}`
  }
}

player.addEventListener('error', () => {
  nowPlaying.textContent = `Playback failed${player.error?.message ? `: ${player.error.message}` : ''}`
})

void load()
