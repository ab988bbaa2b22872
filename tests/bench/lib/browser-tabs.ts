import type { Browser, BrowserContext, Page } from 'playwright-core'

/**
 * Scripts every bench tab gets before any of its own runs:
 * - `__name`: tsx (esbuild with keepNames) wraps named functions in the
 *   code Playwright serialises into the page with `__name(fn, "fn")`, which
 *   pages do not define;
 * - `__benchMedia`: the time (`performance.now()`, i.e. ms since the
 *   navigation started) of every `loadedmetadata`, `playing` and `seeked`
 *   of any media element in the document, caught at the document in the
 *   capture phase (media events do not bubble). It works in Chromium's
 *   media document too (a navigation straight to a video file). At each
 *   `playing`, the app's chunk map (`window.pipbingo.stats().current.map`)
 *   if there is one, in `mapAtPlaying`.
 */
const INIT_SCRIPT = `
globalThis.__name ??= (fn) => fn;
(() => {
  const marks = globalThis.__benchMedia = { loadedmetadata: [], playing: [], seeked: [], mapAtPlaying: [] };
  for (const type of ['loadedmetadata', 'playing', 'seeked']) {
    document.addEventListener(type, () => {
      marks[type].push(performance.now());
      if (type === 'playing') marks.mapAtPlaying.push(globalThis.pipbingo?.stats?.()?.current?.map ?? null);
    }, { capture: true });
  }
})();
`

export interface MediaMarks {
  loadedmetadata: number[]
  playing: number[]
  seeked: number[]
  mapAtPlaying: Array<string | null>
}

declare global {
  // eslint-disable-next-line no-var
  var __benchMedia: MediaMarks | undefined
}

export interface Tab {
  context: BrowserContext
  page: Page
  /** console.error lines and uncaught page errors, for the notes when something fails. */
  errors: string[]
  /**
   * Uncaught page errors only: what makes a measurement invalid, as in the
   * tests. console.error lines are not: Chromium logs one for every fetch
   * refused, such as the app's probe of a bridge at 127.0.0.1:9090 that is
   * not running, which the app handles.
   */
  uncaught: string[]
  close(): Promise<void>
}

/**
 * A fresh browser context (its own storage: a first visit, a new profile,
 * identity and IndexedDB) with one page and the bench's init script.
 */
export async function newTab (browser: Browser, options: { viewport?: { width: number, height: number } } = {}): Promise<Tab> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } })
  await context.addInitScript(INIT_SCRIPT)
  const page = await context.newPage()
  const errors: string[] = []
  const uncaught: string[] = []
  page.on('console', msg => { if (msg.type() === 'error') errors.push(`${msg.text()} (${msg.location().url})`) })
  page.on('pageerror', err => { errors.push(err.message); uncaught.push(err.message) })
  return {
    context,
    page,
    errors,
    uncaught,
    async close () { await context.close().catch(() => {}) }
  }
}

/** A fresh tab on `url` (the web app), once its peer is up. */
export async function openTab (browser: Browser, url: string, options: { viewport?: { width: number, height: number } } = {}): Promise<Tab> {
  const tab = await newTab(browser, options)
  try {
    await tab.page.goto(url)
    await tab.page.evaluate(async () => { await window.pipbingo.ready })
    if (await tab.page.evaluate(() => window.pipbingo.stats() == null)) throw new Error(`the tab has no peer (it fell back to the origin): ${tab.errors.join('; ')}`)
  } catch (err) {
    await tab.close()
    throw err
  }
  return tab
}

/** The tab's stats (`window.pipbingo.stats()`), as JSON. */
export async function tabStats (page: Page): Promise<any> {
  return await page.evaluate(() => window.pipbingo.stats())
}

/** Wait until the tab's stats say `contentId` is complete in its store. */
export async function waitComplete (page: Page, contentId: string, timeoutMs: number): Promise<any> {
  await page.waitForFunction((id) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === id)?.complete === true, contentId, { timeout: timeoutMs, polling: 50 })
  return await tabStats(page)
}

export interface PlayedToComplete {
  /** From `window.pipbingo.play()` to the stats saying complete, ms (in the page). */
  ms: number
  /** From `play()` to the first chunk from `fromPeer` in the stats, ms (undefined without `fromPeer` or if none came). */
  firstPeerChunkMs?: number
  stats: any
}

/**
 * In the page: `window.pipbingo.play(filename)` and poll the stats every
 * 20 ms until `contentId` is complete; all timed with the page's clock.
 */
export async function playToComplete (page: Page, filename: string, contentId: string, fromPeer: string | undefined, timeoutMs: number): Promise<PlayedToComplete> {
  return await page.evaluate(async ({ filename, contentId, fromPeer, timeoutMs }) => {
    const started = performance.now()
    await window.pipbingo.play(filename)
    let firstPeerChunkMs: number | undefined
    for (;;) {
      const stats = window.pipbingo.stats() as any
      const now = performance.now()
      if (fromPeer != null && firstPeerChunkMs == null && (stats.bySource[fromPeer] ?? 0) > 0) firstPeerChunkMs = now - started
      if (stats.contents.find((c: any) => c.contentId === contentId)?.complete === true) return { ms: now - started, firstPeerChunkMs, stats }
      if (now - started > timeoutMs) throw new Error(`not complete after ${timeoutMs} ms: ${stats.current?.have}/${stats.current?.chunks} chunks`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }, { filename, contentId, fromPeer, timeoutMs })
}

/** The media marks of the page's current document (see INIT_SCRIPT). */
export async function mediaMarks (page: Page): Promise<MediaMarks> {
  return await page.evaluate(() => globalThis.__benchMedia ?? { loadedmetadata: [], playing: [], seeked: [], mapAtPlaying: [] })
}

/** Wait until the current document has seen at least `count` media events of `type`; returns their times. */
export async function waitMediaMark (page: Page, type: 'loadedmetadata' | 'playing' | 'seeked', count: number, timeoutMs: number): Promise<number[]> {
  await page.waitForFunction(({ type, count }) => (globalThis.__benchMedia?.[type].length ?? 0) >= count, { type, count }, { timeout: timeoutMs, polling: 20 })
  return (await mediaMarks(page))[type]
}

export interface MainThreadLoad {
  /** ms the renderer's main thread spent in tasks (CDP Performance TaskDuration). */
  taskMs: number
  /** Of which running script (ScriptDuration). */
  scriptMs: number
}

/**
 * Start counting how long the page's main thread is busy (Chrome DevTools
 * Protocol `Performance` metrics); the returned function stops and gives the
 * time spent since.
 */
export async function watchMainThread (page: Page): Promise<() => Promise<MainThreadLoad>> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable')
  const read = async (): Promise<MainThreadLoad> => {
    const { metrics } = await cdp.send('Performance.getMetrics')
    const get = (name: string): number => metrics.find(m => m.name === name)?.value ?? 0
    return { taskMs: get('TaskDuration') * 1000, scriptMs: get('ScriptDuration') * 1000 }
  }
  const before = await read()
  return async () => {
    const after = await read()
    await cdp.detach().catch(() => {})
    return { taskMs: after.taskMs - before.taskMs, scriptMs: after.scriptMs - before.scriptMs }
  }
}

export interface SeekTimed {
  /** From setting `currentTime` to the next `playing`, ms (page clock). */
  ms: number
  /** From setting `currentTime` to `seeked`, ms. */
  seekedMs: number
  /** When `loadedmetadata` came, ms since the navigation started. */
  metadataAt: number
  at: number
  duration: number
  /** The buffered ranges of the element just before the seek, in seconds. */
  bufferedBefore: Array<[number, number]>
  /** The app's chunk map just before the seek and when playback resumed (null in a page without the app). */
  mapBefore: string | null
  mapAtPlaying: string | null
}

/**
 * In the page: wait for a `<video>` to have its metadata, then at once set
 * its `currentTime` to `fraction` of the duration and time that to the
 * first `playing` after `seeked` (rejects on a media error or after
 * `timeoutMs`). Seeking right at `loadedmetadata`, in the page, is what
 * keeps the target region unfetched on a fast link: a round trip to Node
 * would give the download time to get there first.
 *
 * With `play` (the app): `window.pipbingo.play(play)` opens the player,
 * which creates its `<video>` only then (the bench's tabs start on the
 * network page, which has none), so the element is not waited for: a
 * capture listener on the document, added before play() is called, takes
 * the first `loadedmetadata` of any `<video>` in the document (media events
 * do not bubble, but the capture phase sees them) and the seek happens in
 * that task. Without `play` (a plain page, or a player already open): the
 * first `<video>` in the document, at once if its metadata is there.
 */
export async function seekAtMetadata (page: Page, options: { play?: string, fraction: number, timeoutMs: number }): Promise<SeekTimed> {
  return await page.evaluate(async ({ play, fraction, timeoutMs }) => {
    let current: HTMLVideoElement | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    const failed = new Promise<never>((_resolve, reject) => {
      // a media error of the element being timed, or of any <video> before it is known
      document.addEventListener('error', (e) => {
        const v = e.target
        if (v instanceof HTMLVideoElement && (current == null || v === current)) reject(new Error(`media error ${v.error?.code}: ${v.error?.message}`))
      }, { capture: true })
      timer = setTimeout(() => {
        const v = current ?? document.querySelector('video')
        reject(new Error(`timed out after ${timeoutMs} ms (${v == null ? 'no <video> in the page' : `readyState ${v.readyState}, paused ${v.paused}`})`))
      }, timeoutMs)
    })
    failed.catch(() => {})
    const withVideo = async (): Promise<HTMLVideoElement> => {
      if (play != null) {
        return await new Promise<HTMLVideoElement>((resolve, reject) => {
          const onMetadata = (e: Event): void => {
            if (!(e.target instanceof HTMLVideoElement)) return
            document.removeEventListener('loadedmetadata', onMetadata, { capture: true })
            resolve(e.target)
          }
          document.addEventListener('loadedmetadata', onMetadata, { capture: true })
          window.pipbingo.play(play).catch(reject)
        })
      }
      let v = document.querySelector('video')
      while (v == null) {
        await new Promise(resolve => setTimeout(resolve, 5))
        v = document.querySelector('video')
      }
      const found = v
      if (found.readyState < 1) await new Promise<void>(resolve => { found.addEventListener('loadedmetadata', () => { resolve() }, { once: true }) })
      return found
    }
    const video = await Promise.race([withVideo(), failed])
    current = video
    const metadataAt = performance.now()
    const map = (): string | null => (globalThis as any).pipbingo?.stats?.()?.current?.map ?? null
    const bufferedBefore: Array<[number, number]> = []
    for (let i = 0; i < video.buffered.length; i++) bufferedBefore.push([video.buffered.start(i), video.buffered.end(i)])
    const mapBefore = map()
    // a `playing` queued before the seek (the autoplay reaching HAVE_FUTURE_DATA
    // together with loadedmetadata) is not the resumption: count the first one
    // after `seeked` (Chromium drops to HAVE_METADATA on a seek, so one follows)
    let seekedAt: number | undefined
    const playing = new Promise<{ at: number, map: string | null }>(resolve => {
      video.addEventListener('seeked', () => { seekedAt ??= performance.now() }, { once: true })
      const onPlaying = (): void => {
        if (seekedAt == null) return
        video.removeEventListener('playing', onPlaying)
        resolve({ at: performance.now(), map: map() })
      }
      video.addEventListener('playing', onPlaying)
    })
    const started = performance.now()
    video.currentTime = video.duration * fraction
    const got = await Promise.race([playing, failed])
    clearTimeout(timer)
    return {
      ms: got.at - started,
      seekedMs: seekedAt! - started,
      metadataAt,
      at: video.currentTime,
      duration: video.duration,
      bufferedBefore,
      mapBefore,
      mapAtPlaying: got.map
    }
  }, options)
}

/** Swarm-session log lines worth keeping: why a peer stopped carrying chunks, and the direct connections made. */
const SWARM_LOG = /stalled|dropping peer|failed|direct connection/

/**
 * Keep the tab's swarm session log lines about stalls, dropped peers,
 * failed chunks and direct connections (`pipbingo:tab:swarm`, which the
 * session prints through `debug` once localStorage says so at the page's
 * start: call this before the navigation), the first `max` of them, each
 * with its time since this call.
 */
export async function keepSwarmLog (tab: Tab, max = 12): Promise<string[]> {
  await tab.context.addInitScript(() => { localStorage.setItem('debug', 'pipbingo:tab:swarm') })
  const lines: string[] = []
  const t0 = performance.now()
  tab.page.on('console', msg => {
    const text = msg.text()
    if (!text.includes('pipbingo:tab:swarm') || !SWARM_LOG.test(text) || lines.length >= max) return
    const at = `+${(performance.now() - t0).toFixed(0)} ms`
    void Promise.all(msg.args().map(async a => await a.jsonValue())).then(args => {
      if (lines.length < max) lines.push(`${at}: ${formatDebug(args).slice(0, 300)}`)
    }, () => {})
  })
  return lines
}

/** A `debug` line as the page printed it: the format string's %s/%d/%o filled in, its %c colours dropped. */
function formatDebug (args: unknown[]): string {
  const [format, ...rest] = args
  if (typeof format !== 'string') return args.map(String).join(' ')
  let k = 0
  const line = format.replace(/%([csdifoOj%])/g, (_m, c: string) => {
    if (c === '%') return '%'
    const arg = rest[k++]
    return c === 'c' ? '' : typeof arg === 'string' ? arg : JSON.stringify(arg)
  })
  // what is left after the format's arguments is the trailing colour of the time delta
  return line.replace(/\s+/g, ' ').trim()
}

/** What a tab saw while it played a video to complete (see watchPlay); times are the page's clock, ms since the navigation started. */
export interface WatchedPlay {
  /** The tab's stats, and the content's, at the first poll that saw it complete. */
  stats: any
  content: any
  completeAt: number
  /** The navigation's start, epoch ms (`performance.timeOrigin`): to put several tabs on one clock. */
  timeOrigin: number
  /** The first `playing` of the document's `<video>`. */
  playingAt?: number
  /** By source id (stats.bySource: peers, the origin's node, `http`): the first poll that saw bytes from it. */
  firstByteAt: Record<string, number>
  /** By peer id: the first poll that listed a direct WebRTC connection to it. */
  directAt: Record<string, number>
  /** How long, ms, the content's `why` (why peers carry little) said each reason before complete; `carrying` when it said none. */
  whyMs: Record<string, number>
}

/**
 * Navigate the tab to `url` (the app, e.g. `/?play=<video>`) and read its
 * stats in the page every 20 ms until they say `contentId` is complete.
 * Rejects when it is not complete `timeoutMs` after the navigation (with
 * where it stands), or when the page gives no answer 15 s past that.
 */
export async function watchPlay (tab: Tab, url: string, contentId: string, timeoutMs: number): Promise<WatchedPlay> {
  await tab.page.goto(url, { waitUntil: 'commit' })
  const watching = tab.page.evaluate(async ({ contentId, timeoutMs }) => {
    // the module script defines window.pipbingo; `ready` resolves once the peer is up and the player has the video
    while ((window as any).pipbingo == null) await new Promise(resolve => setTimeout(resolve, 10))
    await window.pipbingo.ready
    const firstByteAt: Record<string, number> = {}
    const directAt: Record<string, number> = {}
    const whyMs: Record<string, number> = {}
    let last: number | undefined
    for (;;) {
      const s = window.pipbingo.stats() as any
      const now = performance.now()
      if (s == null) throw new Error('the tab has no peer (it fell back to the origin)')
      for (const [id, bytes] of Object.entries(s.bySource as Record<string, number>)) if (bytes > 0) firstByteAt[id] ??= now
      for (const p of s.peers) if (p.direct === true && p.transport === 'webrtc') directAt[p.id] ??= now
      const c = s.contents.find((x: any) => x.contentId === contentId)
      if (c?.complete === true) {
        return { stats: s, content: c, completeAt: now, timeOrigin: performance.timeOrigin, playingAt: globalThis.__benchMedia?.playing[0], firstByteAt, directAt, whyMs }
      }
      if (c != null && last != null) whyMs[c.why ?? 'carrying'] = (whyMs[c.why ?? 'carrying'] ?? 0) + now - last
      last = c == null ? undefined : now
      if (now > timeoutMs) throw new Error(`not complete ${timeoutMs} ms after the navigation: ${c?.have ?? 0}/${c?.chunks ?? '?'} chunks, map ${c?.map ?? '?'}, why ${c?.why ?? '—'}`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }, { contentId, timeoutMs })
  watching.catch(() => {})
  // the page's own deadline only runs once its peer is up: this one holds whatever hangs
  let timer: NodeJS.Timeout | undefined
  return await Promise.race([
    watching,
    new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`no answer from the page ${timeoutMs / 1000 + 15} s after the navigation`)) }, timeoutMs + 15_000) })
  ]).finally(() => { clearTimeout(timer) })
}

/** A chunk map in runs: `PPPPOOH` → `P4 O2 H1`. */
export function mapRuns (map: string): string {
  return (map.match(/(.)\1*/g) ?? []).map(r => `${r[0]}${r.length}`).join(' ')
}
