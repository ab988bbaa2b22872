import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { makeContent } from '../helpers/content'
import { nextEvent, postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { startWebRig, type WebRig } from '../helpers/web'

const isRoot = process.getuid?.() === 0
const GONE = 'gone.mp4'

/**
 * The Downloads page says in words why a bridge's download failed (issue
 * 16, point 5): a full disk, and a video nobody has. Real relay serving
 * the built app, real bridges, real Chromium.
 */
describe('the web app shows a bridge\'s failed downloads in words', () => {
  let rig: WebRig
  let root: string
  const bridges: TestBridge[] = []
  let mounted: string | undefined

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4'])
    root = await mkdtemp(join(tmpdir(), 'pipbingo-failures-'))
  }, 120_000)
  afterAll(async () => {
    for (const b of bridges) await b.close().catch(() => {})
    if (mounted != null) execFileSync('umount', [mounted])
    await rm(root, { recursive: true, force: true })
    await rig?.close()
  })

  async function downloadsPage (bridge: TestBridge): Promise<Page> {
    const page = await (await (await rig.newBrowser()).newContext()).newPage()
    await page.goto(`${rig.relay.httpUrl()}/downloads?bridge=${encodeURIComponent(bridge.url)}`)
    await page.getByRole('region', { name: 'This computer', exact: true }).getByText('Nothing saved on this computer yet').waitFor()
    return page
  }

  it.skipIf(!isRoot)('a full disk (a 1 MiB tmpfs cache; needs root, skipped otherwise): "Failed: the disk is full", what was saved is kept', async () => {
    const cache = join(root, 'small-cache')
    await mkdir(cache)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', cache])
    mounted = cache
    const bridge = await startBridge({ httpUrl: rig.relay.httpUrl() }, { cacheDir: cache, dataDir: join(root, 'small-data') })
    bridges.push(bridge)
    await bridge.bridge.relayLink.waitConnected()
    const page = await downloadsPage(bridge)
    expect((await postDownload(bridge.url, 'sample.mp4')).body.status).toBe('started')
    const item = page.getByRole('region', { name: 'This computer', exact: true }).getByRole('listitem', { name: 'sample.mp4' })
    await item.getByText('Failed: the disk is full').waitFor({ timeout: 20_000 })
    await item.getByText('The disk holding the bridge\'s cache is full. What was saved is kept: free some space and save it again, it resumes from there.').waitFor()
  }, 60_000)

  it('a video nobody has: "Looking for someone who has it", then "Failed: nobody has it"', async () => {
    // published by a bridge that holds it, which then leaves
    const content = await makeContent(600_000, { seed: 190, name: GONE })
    const holderDir = join(root, 'holder')
    await mkdir(join(holderDir, 'cache'), { recursive: true })
    await writeFile(join(holderDir, 'cache', GONE), content.bytes)
    const holder = await startBridge({ httpUrl: rig.relay.httpUrl() }, { dir: holderDir })
    await holder.bridge.relayLink.waitConnected()
    await holder.bridge.announcer.settled()
    const published = await fetch(`${rig.relay.httpUrl()}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: content.manifest, peerId: holder.bridge.node.peerId.toString() }) })
    expect(published.status).toBe(201)
    await holder.close()
    await nextEvent(rig.relay.httpUrl(), (event, list: Array<{ filename: string, peers: number }>) => event === 'catalogue' && list.find(e => e.filename === GONE)?.peers === 0)

    const bridge = await startBridge({ httpUrl: rig.relay.httpUrl() }, { sourceWaitSeconds: 3 })
    bridges.push(bridge)
    await bridge.bridge.relayLink.waitConnected()
    const page = await downloadsPage(bridge)
    const failed = bridge.waitFor(GONE, 'failed')
    expect((await postDownload(bridge.url, GONE)).body.download.waiting_for).toBe('source')
    const item = page.getByRole('region', { name: 'This computer', exact: true }).getByRole('listitem', { name: GONE })
    await item.getByText('Looking for someone who has it').waitFor()
    await failed
    await item.getByText('Failed: nobody has it').waitFor()
    await item.getByText('No peer and not the server has this video right now. Save it again once someone shares it.').waitFor()
  }, 60_000)
})
