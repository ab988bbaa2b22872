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
  page.on('console', msg => { if (msg.type() === 'error') errors.push(msg.text()) })
  page.on('pageerror', err => { errors.push(err.message) })
  return {
    context,
    page,
    errors,
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
