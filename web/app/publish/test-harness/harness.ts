/**
 * A page for tests/web/publish/ and the publish-hashing bench only: they add
 * it to the build's inputs (the production build never includes it) and
 * drive it through `window.publishHarness` with `page.evaluate`. It puts
 * hashFile (web/app/publish/hasher.ts), worker and all, behind calls that
 * return plain data: a file picked in `#picker` (Playwright's setInputFiles)
 * or one made in the page from random bytes.
 */
import { DEFAULT_TUNING, hashFile, type HashedFile, type HashProgress, type HashTuning } from '../hasher'

export interface Job {
  chunkSize?: number
  tuning?: HashTuning
  /** Abort once a progress event has reached this many bytes. */
  abortAtBytes?: number
  stallTimeoutMs?: number
  /** Block the main thread for this long at the first progress event (to prove the responsiveness gauge sees it). */
  blockMs?: number
}

export type Outcome = ({ ok: true } & HashedFile | { ok: false, name: string, message: string }) & {
  progress: HashProgress[]
  /** The longest gap between two ticks of a 10 ms interval on the main thread while hashing. */
  longestGapMs: number
  ticks: number
  /**
   * The longest task the main thread ran while hashing, as Chromium's Long
   * Tasks API reports them (tasks of 50 ms or more; 0 if none). Unlike the
   * interval's gap, it does not count the time an idle page waited for a CPU
   * that other processes held.
   */
  longestTaskMs: number
}

const picker = document.getElementById('picker') as HTMLInputElement
/** The file of makeFile, kept for the calls that follow. */
let made: File | undefined

async function run (file: File | undefined, job: Job): Promise<Outcome> {
  if (file == null) throw new Error('no file: pick one (setInputFiles) or make one first')
  const progress: HashProgress[] = []
  const controller = new AbortController()
  let last = performance.now()
  let longestGapMs = 0
  let ticks = 0
  let longestTaskMs = 0
  const tasks = new PerformanceObserver(list => {
    for (const entry of list.getEntries()) longestTaskMs = Math.max(longestTaskMs, entry.duration)
  })
  tasks.observe({ type: 'longtask' })
  const ticker = setInterval(() => {
    const now = performance.now()
    longestGapMs = Math.max(longestGapMs, now - last)
    last = now
    ticks++
  }, 10)
  const onProgress = (p: HashProgress): void => {
    progress.push(p)
    if (job.blockMs != null && progress.length === 1) {
      const until = performance.now() + job.blockMs
      while (performance.now() < until) { /* a long task on purpose */ }
    }
    if (job.abortAtBytes != null && p.bytesHashed >= job.abortAtBytes) controller.abort()
  }
  let result: ({ ok: true } & HashedFile) | { ok: false, name: string, message: string }
  try {
    result = { ok: true, ...await hashFile(file, { signal: controller.signal, onProgress, chunkSize: job.chunkSize, tuning: job.tuning, stallTimeoutMs: job.stallTimeoutMs }) }
  } catch (err) {
    result = { ok: false, name: (err as Error).name, message: (err as Error).message }
  }
  clearInterval(ticker)
  // the wait since the last tick counts too (the answer may come before the next tick)
  longestGapMs = Math.max(longestGapMs, performance.now() - last)
  for (const entry of tasks.takeRecords()) longestTaskMs = Math.max(longestTaskMs, entry.duration)
  tasks.disconnect()
  return { ...result, progress, longestGapMs, ticks, longestTaskMs }
}

const harness = {
  defaultTuning: DEFAULT_TUNING,

  picked (): { name: string, type: string, size: number } | undefined {
    const file = picker.files?.[0]
    return file == null ? undefined : { name: file.name, type: file.type, size: file.size }
  },

  async hashPicked (job: Job = {}): Promise<Outcome> {
    return await run(picker.files?.[0], job)
  },

  /** A File of `size` random bytes, made and held in the page. */
  makeFile (size: number, name: string, type: string): void {
    const bytes = new Uint8Array(size)
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536))
    made = new File([bytes], name, { type })
  },

  async hashMade (job: Job = {}): Promise<Outcome> {
    return await run(made, job)
  },

  /** The ceiling of the bench: SHA-256 of the picked file's whole bytes in one digest call (the read is not timed). */
  async digestPickedOnce (): Promise<{ ms: number, hex: string }> {
    const file = picker.files?.[0]
    if (file == null) throw new Error('no file picked')
    let bytes: ArrayBuffer | undefined = await file.arrayBuffer()
    const t0 = performance.now()
    const digest = await crypto.subtle.digest('SHA-256', bytes)
    const ms = performance.now() - t0
    bytes = undefined
    return { ms, hex: Array.from(new Uint8Array(digest), b => b.toString(16).padStart(2, '0')).join('') }
  }
}

declare global {
  interface Window { publishHarness: typeof harness }
}
window.publishHarness = harness
