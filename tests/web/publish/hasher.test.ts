import { createReadStream } from 'node:fs'
import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Page, Worker } from 'playwright-core'
import { buildManifest } from '@core/content/builder'
import { MAX_CONTENT_SIZE } from '@core/content/constants'
import type { HashProgress } from '../../../web/app/publish/hasher'
import type { Job, Outcome } from '../../../web/app/publish/test-harness/harness'
import { makeContent, pseudoRandomBytes } from '../../helpers/content'
import { startPublishRig, type PublishRig } from './harness-rig'

/**
 * hashFile (web/app/publish/hasher.ts) in a real Chromium: the harness page
 * (web/app/publish/test-harness/) built by vite with the project's config,
 * served by a real relay, driven through `window.publishHarness`. Files come
 * from `<input type=file>` (setInputFiles: from disk, or bytes given by the
 * test) or are made in the page from random bytes.
 */
const MiB = 1024 * 1024

describe('hashFile hashes a picked video in a worker (Chromium)', () => {
  let rig: PublishRig
  let page: Page
  /** Every worker the page started, and whether it has closed. */
  let workers: Array<{ worker: Worker, closed: Promise<void>, isClosed: () => boolean }>
  const pageErrors: string[] = []

  const hashPicked = async (job: Job = {}): Promise<Outcome> =>
    await page.evaluate(async j => await window.publishHarness.hashPicked(j), job)
  const hashMade = async (job: Job = {}): Promise<Outcome> =>
    await page.evaluate(async j => await window.publishHarness.hashMade(j), job)
  const pick = async (file: string | { name: string, mimeType: string, buffer: Buffer }): Promise<void> => {
    await page.setInputFiles('#picker', file)
  }
  const makeFile = async (size: number, name = 'made.mp4', type = 'video/mp4'): Promise<void> => {
    await page.evaluate(([s, n, t]) => { window.publishHarness.makeFile(s, n, t) }, [size, name, type] as const)
  }
  const ok = (outcome: Outcome): Extract<Outcome, { ok: true }> => {
    if (!outcome.ok) throw new Error(`hashFile failed: ${outcome.name}: ${outcome.message}`)
    return outcome
  }
  const expectProgressSound = (progress: HashProgress[], total: number): void => {
    expect(progress.length).toBeGreaterThan(0)
    for (const [i, p] of progress.entries()) {
      expect(p.totalBytes).toBe(total)
      expect(p.bytesPerSecond).toBeGreaterThan(0)
      if (i > 0) expect(p.bytesHashed).toBeGreaterThan(progress[i - 1]!.bytesHashed)
    }
    expect(progress.at(-1)!.bytesHashed).toBe(total)
  }

  beforeAll(async () => {
    rig = await startPublishRig({ onConsoleError: text => { pageErrors.push(text) } })
    page = await rig.openHarness()
  }, 120_000)

  afterAll(async () => {
    await rig?.close()
  })

  beforeEach(() => {
    workers = []
    page.removeAllListeners('worker')
    page.on('worker', worker => {
      let closed = false
      workers.push({ worker, closed: new Promise(resolve => worker.once('close', () => { closed = true; resolve() })), isClosed: () => closed })
    })
  })

  it('a 5 MiB + 123 B file: the manifest and content id of the core\'s builder, progress up to the size', async () => {
    const content = await makeContent(5 * MiB + 123, { seed: 42, name: 'random clip.mp4' })
    await pick({ name: 'random clip.mp4', mimeType: 'video/mp4', buffer: Buffer.from(content.bytes) })
    const got = ok(await hashPicked())
    expect(got.manifest).toEqual(content.manifest)
    expect(got.contentId).toBe(content.contentId)
    expect(got.elapsedMs).toBeGreaterThan(0)
    expectProgressSound(got.progress, content.bytes.byteLength)
    // the worker is gone once it answered
    expect(workers).toHaveLength(1)
    await workers[0]!.closed
  })

  it.each([
    ['reads of one chunk, one digest at a time, no read-ahead', { reader: 'slice', readSize: 256 * 1024, inFlight: 1, readAhead: false }],
    ['slices of 1,000,000 bytes (rounded down to whole chunks), read ahead, 3 in flight', { reader: 'slice', readSize: 1_000_000, inFlight: 3, readAhead: true }],
    ['the byte stream into a 3-chunk buffer, 2 in flight', { reader: 'stream', readSize: 3 * 256 * 1024, inFlight: 2 }],
    ['the byte stream into a one-chunk buffer', { reader: 'stream', readSize: 1, inFlight: 1 }]
  ] as const)('the same hashes whatever the reading: %s', async (_name, tuning) => {
    const content = await makeContent(3 * MiB + 5, { seed: 3, name: 'tuned.webm' })
    await pick({ name: 'tuned.webm', mimeType: 'video/webm', buffer: Buffer.from(content.bytes) })
    const got = ok(await hashPicked({ tuning }))
    expect(got.manifest).toEqual({ ...content.manifest, mime: 'video/webm' })
    expect(got.contentId).toBe(content.contentId)
  })

  it('another chunk size: the core\'s builder with that chunk size', async () => {
    const content = await makeContent(MiB + 1, { seed: 9, name: 'small-chunks.mp4', chunkSize: 64 * 1024 })
    await pick({ name: 'small-chunks.mp4', mimeType: 'video/mp4', buffer: Buffer.from(content.bytes) })
    const got = ok(await hashPicked({ chunkSize: 64 * 1024 }))
    expect(got.manifest.hashes).toHaveLength(17)
    expect(got.manifest).toEqual(content.manifest)
    expect(got.contentId).toBe(content.contentId)
  })

  it('library/sample.mp4 picked from disk: what the core\'s builder computes from the file in Node', async () => {
    const expected = await buildManifest(createReadStream('library/sample.mp4'), { name: 'sample.mp4', mime: 'video/mp4' })
    await pick('library/sample.mp4')
    const got = ok(await hashPicked())
    expect(got.manifest).toEqual(expected.manifest)
    expect(got.contentId).toBe(expected.contentId)
    expectProgressSound(got.progress, expected.manifest.size)
  })

  it('a 96 MiB file: several progress events, at most ~10 a second, monotonic, ending at the size', async () => {
    await makeFile(96 * MiB)
    // the naive reading, slow enough for several progress events
    const got = ok(await hashMade({ tuning: { reader: 'slice', readSize: 256 * 1024, inFlight: 1, readAhead: false } }))
    expectProgressSound(got.progress, 96 * MiB)
    expect(got.progress.length).toBeGreaterThan(1)
    expect(got.manifest.hashes).toHaveLength(384)
    // one per 100 ms at most, plus the last one (and one of rounding)
    expect(got.progress.length).toBeLessThanOrEqual(got.elapsedMs / 100 + 2)
  })

  describe('the page stays responsive', () => {
    const SIZE = 192 * MiB
    beforeAll(async () => { await makeFile(SIZE) })

    // The main thread's own work is what is measured: Chromium's long tasks. The gap of a 10 ms interval also
    // counts the time an idle page waits for a CPU held by other processes (238 ms once in CI, 2 cores, browser
    // tests running beside it), which says nothing about the hasher.
    it(`while a ${SIZE / MiB} MiB file is hashed, the main thread runs no task of 200 ms and its 10 ms interval keeps ticking`, async () => {
      const got = ok(await hashMade())
      expect(got.manifest.size).toBe(SIZE)
      // a hasher on the main thread would leave next to no ticks; a starved page (load average 10+ on 2 cores
      // while a bench ran beside CI) still gets 242 of its 544 (elapsed / 10): at least a fifth of them
      expect(got.ticks).toBeGreaterThanOrEqual(Math.floor(got.elapsedMs / 50))
      expect(got.longestTaskMs).toBeLessThan(200)
    })

    it('the gauge sees a long task: a 400 ms block on the main thread during the hashing shows as a ≥ 400 ms task and gap', async () => {
      const got = ok(await hashMade({ blockMs: 400 }))
      expect(got.longestTaskMs).toBeGreaterThanOrEqual(400)
      expect(got.longestGapMs).toBeGreaterThanOrEqual(400)
    })
  })

  it('an abort rejects with an AbortError and terminates the worker', async () => {
    await makeFile(128 * MiB)
    const got = await hashMade({ abortAtBytes: 1, tuning: { readSize: MiB, inFlight: 1 } })
    expect(got.ok).toBe(false)
    expect(got).toMatchObject({ name: 'AbortError' })
    expect(got.progress.length).toBeGreaterThan(0)
    expect(got.progress.at(-1)!.bytesHashed).toBeLessThan(128 * MiB)
    expect(workers).toHaveLength(1)
    await workers[0]!.closed
  })

  it('a worker that says nothing for stallTimeoutMs: HashStalledError', async () => {
    await makeFile(16 * MiB)
    // 1 ms: no worker starts and answers that fast (it is terminated before Playwright even sees it)
    const got = await hashMade({ stallTimeoutMs: 1 })
    expect(got).toMatchObject({ ok: false, name: 'HashStalledError', message: 'Hashing “made.mp4” made no progress for 0.001 s: gave up.' })
  })

  describe('refused before anything is read, with a message a person understands', () => {
    const bytes = Buffer.from(pseudoRandomBytes(1000, 5))
    it.each([
      ['a name with a leading dot', '.hidden.mp4', 'video/mp4', 'InvalidFilenameError', /“\.hidden\.mp4” cannot be published under this name: it starts with a dot\. Rename the file/],
      ['a name with leading white space', ' spaced.mp4', 'video/mp4', 'InvalidFilenameError', /it starts or ends with white space/],
      ['a text file', 'notes.txt', 'text/plain', 'NotAVideoError', /“notes\.txt” is not a video \(it is of type text\/plain\): only video files can be published/],
      ['an audio file', 'song.mp3', 'audio/mpeg', 'NotAVideoError', /is not a video \(it is of type audio\/mpeg\)/],
      ['no type and an unknown extension', 'blob.bin', '', 'NotAVideoError', /is not a video \(it is of an unknown type\)/]
    ])('%s', async (_name, name, mimeType, errorName, message) => {
      await pick({ name, mimeType, buffer: bytes })
      const got = await hashPicked()
      expect(got).toMatchObject({ ok: false, name: errorName })
      expect((got as { message: string }).message).toMatch(message)
      expect(workers).toHaveLength(0)
    })

    it('an empty file', async () => {
      await pick({ name: 'empty.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(0) })
      expect(await hashPicked()).toMatchObject({ ok: false, name: 'EmptyFileError', message: '“empty.mp4” is empty: there is nothing to publish.' })
      expect(workers).toHaveLength(0)
    })

    it('a file over 64 GiB (a sparse file on disk)', async () => {
      const path = join(rig.dir, 'huge.mp4')
      const handle = await open(path, 'w')
      await handle.truncate(MAX_CONTENT_SIZE + 1)
      await handle.close()
      await pick(path)
      expect(await page.evaluate(() => window.publishHarness.picked()?.size)).toBe(MAX_CONTENT_SIZE + 1)
      const got = await hashPicked()
      expect(got).toMatchObject({ ok: false, name: 'ContentTooLargeError' })
      expect((got as { message: string }).message).toBe('“huge.mp4” is 64.0 GiB: the largest file that can be published is 64 GiB.')
      expect(workers).toHaveLength(0)
    })
  })

  it('no type but a video extension: the type from the extension', async () => {
    const content = await makeContent(1000, { seed: 1, name: 'film.mkv' })
    await pick({ name: 'film.mkv', mimeType: '', buffer: Buffer.from(content.bytes) })
    const got = ok(await hashPicked())
    expect(got.manifest.mime).toBe('video/x-matroska')
    expect(got.contentId).toBe(content.contentId)
  })

  it.each(['stream', 'slice'] as const)('a file changed on disk after it was picked: the worker\'s failure, in words (reader %s)', async reader => {
    const path = join(rig.dir, `changing-${reader}.mp4`)
    await writeFile(path, pseudoRandomBytes(3 * MiB, 8))
    await pick(path)
    // rewritten with other bytes and another size: the picked File no longer describes it
    await writeFile(path, pseudoRandomBytes(2 * MiB, 9))
    const got = await hashPicked({ tuning: { reader } })
    expect(got.ok).toBe(false)
    expect(got).toMatchObject({ name: 'HashWorkerError' })
    expect((got as { message: string }).message).toMatch(new RegExp(`^Could not hash “changing-${reader}\\.mp4”: the file could not be read: it was changed, moved or deleted since it was picked, or cannot be accessed \\(.+\\)$`))
    expect(workers).toHaveLength(1)
    await workers[0]!.closed
    expect((await readFile(path)).byteLength).toBe(2 * MiB)
  })

  it('the page logged no error', () => {
    // the relay has no favicon
    expect(pageErrors.filter(e => !e.includes('404'))).toEqual([])
  })
})
