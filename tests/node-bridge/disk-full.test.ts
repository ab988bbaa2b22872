import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { nextEvent, postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { failedLine } from '../../node-bridge/downloads/console-log'
import { FsChunkStore } from '../../node-bridge/store/index'

const NAME = 'video_big.mp4'
const CHUNK = 256 * 1024
/** 12 MiB into a cache on an 8 MiB filesystem. */
const SIZE = 48 * CHUNK - 1000
const isRoot = process.getuid?.() === 0

/**
 * Issue 16's row: the cache on a filesystem too small for the download.
 * A real tmpfs (mounting one needs root: CI runs as root), a real relay
 * holding the file, a real bridge whose `--cache` is on the tmpfs.
 */
describe.skipIf(!isRoot)('a disk that fills up mid-download (needs root to mount a tmpfs: skipped otherwise)', () => {
  let content: TestContent
  let relay: TestRelay
  let root: string
  let cache: string
  let bridge: TestBridge | undefined
  let mounted = false

  beforeAll(async () => {
    content = await makeContent(SIZE, { seed: 161, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
    root = await mkdtemp(join(tmpdir(), 'pipbingo-diskfull-'))
    cache = join(root, 'cache')
    await mkdir(cache)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', cache])
    mounted = true
  })
  afterAll(async () => {
    await bridge?.close()
    if (mounted) execFileSync('umount', [cache])
    await rm(root, { recursive: true, force: true })
    await relay?.close()
  })

  it('fails with "disk full" in /status, /events and the log, keeps the partial, and a retry once there is room resumes and completes', async () => {
    bridge = await startBridge(relay, { dir: root, cacheDir: cache })
    await bridge.bridge.relayLink.waitConnected()
    const failedEvent = nextEvent(bridge.url, (event, d: any) => event === 'state' && d.status.filename === NAME && d.to === 'failed', { signal: AbortSignal.timeout(30_000) })
    const asked = Date.now()
    expect((await postDownload(bridge.url, NAME)).body.status).toBe('started')
    // it fails, it does not hang at "downloading 62 %"
    const failed = await bridge.waitFor(NAME, 'failed', 'seeding')
    expect(Date.now() - asked).toBeLessThan(20_000)
    expect(failed).toMatchObject({ status: 'failed', error_code: 'disk_full' })
    expect(failed.error).toMatch(/full \(ENOSPC\)/)
    expect(failed.chunks_downloaded).toBeGreaterThan(0)
    expect(failed.chunks_downloaded).toBeLessThan(48)

    // the same in /status, /events and on the console
    const status = (await (await bridge.api('/status')).json())[NAME]
    expect(status).toMatchObject({ status: 'failed', error_code: 'disk_full', error: failed.error })
    expect((await failedEvent).status).toMatchObject({ status: 'failed', error_code: 'disk_full' })
    expect(bridge.lines).toContain(failedLine(failed, 'en'))
    expect(failedLine(failed, 'en')).toMatch(new RegExp(`^❌ Download failed: ${NAME.replace('.', '\\.')}: the disk holding the cache is full \\(ENOSPC\\)\\. [\\d.]+ MB of 12\\.\\d MB kept`))
    expect(failedLine(failed, 'fr')).toMatch(/le disque du cache est plein \(ENOSPC\)\. [\d.]+ Mo sur 12,?\.?\d Mo gardés/)

    // the partial file and its bitfield are kept, holding what was stored
    const part = await stat(join(cache, `${NAME}.part`))
    expect(part.blocks * 512).toBeGreaterThanOrEqual(failed.chunks_downloaded * CHUNK - CHUNK)
    // (chunks whose writes were under way when it failed may have landed since)
    const held = (await bridge.bridge.store.have(content.contentId))!.count()
    expect(held).toBeGreaterThanOrEqual(failed.chunks_downloaded)

    // room again: the same request resumes from what was stored
    execFileSync('mount', ['-o', 'remount,size=32m', cache])
    const again = await postDownload(bridge.url, NAME)
    expect(again.status).toBe(200)
    expect(again.body.status).toBe('started')
    expect(again.body.download.chunks_downloaded).toBe(held)
    const kept = again.body.download.bytes_downloaded as number
    const done = await bridge.waitFor(NAME, 'seeding', 'failed')
    expect(done.status).toBe('seeding')
    expect(bridge.lines.some(l => l.startsWith(`📥 Resuming P2P download: ${NAME} (${held}/48 chunks`))).toBe(true)
    // only what was missing was fetched again
    expect(done.bytes_from_peers + done.bytes_from_origin).toBe(SIZE - kept)
    expect(digest(await readFile(join(cache, NAME)))).toBe(digest(content.bytes))
  }, 60_000)

  it('a new download on a full disk: DiskFullError from putManifest, nothing half-made left, the same name once there is room', async () => {
    const small = join(root, 'full')
    await mkdir(small)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', small])
    try {
      const store = await FsChunkStore.open({ dir: small })
      // fill what is left
      const filler = join(small, '.filler')
      await writeFile(filler, new Uint8Array(256 * 1024)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOSPC') throw err })
      const before = await readdir(small, { recursive: true })
      const err = await store.putManifest(content.manifest).then(() => undefined, (e: Error) => e)
      expect(err).toMatchObject({ name: 'DiskFullError', message: expect.stringMatching(/is full \(ENOSPC\)$/) })
      expect(await store.listContents()).toEqual([])
      expect(await readdir(small, { recursive: true })).toEqual(before)
      await rm(filler)
      await store.putManifest(content.manifest)
      expect(store.filenameOf(content.contentId)).toBe(NAME)
      await store.close()
    } finally {
      execFileSync('umount', [small])
    }
  })
})
