import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { nextEvent, postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { on } from '../../node-bridge/downloads/events'
import { FsChunkStore } from '../../node-bridge/store/index'
import { runCli } from '../../node-bridge/cli/main'
import type { DownloadStatus } from '../../node-bridge/downloads/status'

const REAL = 'video_real.mp4'
const GONE = ['gone_1.mp4', 'gone_2.mp4', 'gone_3.mp4']
/** The bridge's bound: `--source-wait 3`. */
const WAIT_S = 3

/**
 * Issue 16's row: downloads that no source has. Three videos are
 * published by a real bridge that holds them (a tab's publish, as the relay
 * sees it) and then goes away: the catalogue lists them, nobody has them.
 * A second real bridge is asked for the three, then for a library video.
 */
describe('downloads nobody has', () => {
  let real: TestContent
  let gone: TestContent[]
  let relay: TestRelay
  let holderDir: string
  let bridge: TestBridge | undefined
  let restarted: TestBridge | undefined

  beforeAll(async () => {
    real = await makeContent(6 * 256 * 1024 + 77, { seed: 170, name: REAL })
    gone = await Promise.all(GONE.map(async (name, i) => await makeContent(2 * 256 * 1024 + i, { seed: 171 + i, name })))
    relay = await startRelay([{ name: REAL, bytes: real.bytes }])
    // the holder: a bridge with the three files in its cache seeds them, and they are published
    holderDir = await mkdtemp(join(tmpdir(), 'pipbingo-holder-'))
    await mkdir(join(holderDir, 'cache'))
    for (const c of gone) await writeFile(join(holderDir, 'cache', c.manifest.name), c.bytes)
    const holder = await startBridge(relay, { dir: holderDir })
    await holder.bridge.relayLink.waitConnected()
    await holder.bridge.announcer.settled()
    for (const c of gone) {
      const published = await fetch(`${relay.relay.httpUrl()}/publish`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: c.manifest, peerId: holder.bridge.node.peerId.toString(), title: c.manifest.name })
      })
      expect(published.status).toBe(201)
    }
    // the holder leaves: the catalogue still lists the three, held by nobody
    await holder.close()
    await nextEvent(relay.relay.httpUrl(), (event, list: Array<{ filename: string, peers: number }>) =>
      event === 'catalogue' && GONE.every(name => list.find(e => e.filename === name)?.peers === 0))
  }, 60_000)
  afterAll(async () => {
    await bridge?.close()
    await restarted?.close()
    await relay?.close()
    await rm(holderDir, { recursive: true, force: true })
  })

  it('each fails with "no peer or origin has this file" within the bound, holding no slot meanwhile: a real download asked after them starts at once', async () => {
    bridge = await startBridge(relay, { sourceWaitSeconds: WAIT_S })
    await bridge.bridge.relayLink.waitConnected()
    const seen: Array<{ filename: string, to: string }> = []
    on(bridge.bridge.manager, 'state', ({ to, status }) => { seen.push({ filename: status.filename, to }) })
    const failedAt = new Map<string, number>()
    const allFailed = new Promise<void>(resolve => {
      on(bridge!.bridge.manager, 'state', ({ to, status }) => {
        if (to === 'failed') failedAt.set(status.filename, Date.now())
        if (GONE.every(n => failedAt.has(n))) resolve()
      })
    })

    const askedAt = Date.now()
    for (const name of GONE) {
      const reply = await postDownload(bridge.url, name)
      expect(reply.status).toBe(200)
      // queued, and says why: nobody is known to have it (it is not "downloading 0 %")
      expect(reply.body).toMatchObject({ status: 'queued', message: expect.stringMatching(/no peer or origin is known to have this file/) })
      expect(reply.body.download).toMatchObject({ status: 'queued', waiting_for: 'source' })
    }
    // the three take no slot: the real one starts at once
    const realReply = await postDownload(bridge.url, REAL)
    expect(realReply.body.status).toBe('started')
    const status = await (await bridge.api('/status')).json() as Record<string, DownloadStatus>
    for (const name of GONE) expect(status[name]).toMatchObject({ status: 'queued', waiting_for: 'source', progress: 0 })
    expect(status[REAL]!.status).toBe('downloading')

    const done = await bridge.waitFor(REAL, 'seeding', 'failed')
    expect(done.status).toBe('seeding')
    expect(digest(new Uint8Array(await (await bridge.api(`/stream/${REAL}`)).arrayBuffer()))).toBe(digest(real.bytes))

    await allFailed
    for (const name of GONE) {
      const took = failedAt.get(name)! - askedAt
      expect(took).toBeGreaterThanOrEqual(WAIT_S * 1000 - 500)
      expect(took).toBeLessThan(WAIT_S * 1000 + 15_000) // bounded (it used to wait forever); the slack is for a loaded machine, not a speed figure
    }
    const after = await (await bridge.api('/status')).json() as Record<string, DownloadStatus>
    for (const name of GONE) {
      expect(after[name]).toMatchObject({ status: 'failed', error_code: 'no_source', waiting_for: null })
      expect(after[name]!.error).toMatch(/^no peer or origin has this file/)
      // never downloading, never holding a slot
      expect(seen.filter(s => s.filename === name).map(s => s.to)).toEqual(['queued', 'failed'])
      expect(bridge.lines).toContain(`🔎 Looking for a peer or origin that has ${name} (it waits without taking a download slot)`)
      expect(bridge.lines).toContain(`❌ Download failed: ${name}: no peer or origin has this file`)
    }
    // nothing was written for them: no .part, sparse or not
    expect((await readdir(join(bridge.dir, 'cache'))).filter(f => !f.startsWith('.'))).toEqual([REAL])

    // asked again, the same: it waits for a source again rather than answering "already downloading"
    const again = await postDownload(bridge.url, GONE[0]!)
    expect(again.body.download).toMatchObject({ status: 'queued', waiting_for: 'source' })

    // the CLI says it too, in its language, and exits 1
    let out = ''
    const code = await runCli(['download', GONE[1]!, '--lang', 'fr', '--api', bridge.url], { out: { write: t => { out += t } }, err: { write: () => {} }, env: {} })
    expect(code).toBe(1)
    expect(out.trim().split('\n').at(-1)).toBe(`❌ Échec du téléchargement: ${GONE[1]!}: aucun pair ni l'origine n'a ce fichier`)
  }, 60_000)

  it('a download resumed at start-up that nobody has any more fails within the bound and frees its slot; its partial stays', async () => {
    // a partial of a content nobody has, left in the cache by an earlier run
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-orphan-'))
    const orphan = gone[0]!
    const store = await FsChunkStore.open({ dir: join(dir, 'cache') })
    await store.putManifest(orphan.manifest)
    await store.putChunk(orphan.contentId, 0, orphan.bytes.subarray(0, 256 * 1024))
    await store.close()

    // one slot: the partial takes it at start-up, the library video waits behind it
    restarted = await startBridge(relay, { dir, sourceWaitSeconds: WAIT_S, maxConcurrentDownloads: 1 })
    const name = orphan.manifest.name
    expect(restarted.bridge.manager.get(name)!.state).toBe('downloading')
    const startedAt = Date.now()
    expect((await postDownload(restarted.url, REAL)).body.status).toBe('queued')

    const failed = await restarted.waitFor(name, 'failed', 'seeding')
    expect(failed).toMatchObject({ status: 'failed', error_code: 'no_source', chunks_downloaded: 1 })
    expect(failed.error).toMatch(/^no peer or origin has this file/)
    expect(Date.now() - startedAt).toBeLessThan(WAIT_S * 1000 + 15_000)
    expect(restarted.lines).toContain(`❌ Download failed: ${name}: no peer or origin has this file`)
    // the slot is free: the library video runs and completes
    expect((await restarted.waitFor(REAL, 'seeding', 'failed')).status).toBe('seeding')
    // the partial is kept for a later retry
    expect(await readdir(join(dir, 'cache'))).toContain(`${name}.part`)
    expect((await restarted.bridge.store.have(orphan.contentId))!.count()).toBe(1)
    await restarted.close()
    restarted = undefined
    await rm(dir, { recursive: true, force: true })
  }, 60_000)
})
