import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../node-bridge/cli/main'
import { makeContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'

/**
 * Issue 13, row 6: an upload is stored as `video_<ms>.mp4` (the seed's
 * safe unique name, unchanged), and its original name is the title a
 * person reads: the relay's catalogue, the bridge's /status (`title`), and
 * the CLI's status table.
 */
describe('an upload\'s original name is what a person reads', () => {
  let relay: TestRelay
  let bridge: TestBridge
  let stored: string

  beforeAll(async () => {
    relay = await startRelay([])
    bridge = await startBridge(relay)
    const content = await makeContent(300_000, { seed: 66 })
    const form = new FormData()
    form.append('file', new Blob([Buffer.from(content.bytes)], { type: 'video/mp4' }), 'Trip to Brittany.mp4')
    const res = await fetch(`${relay.relay.httpUrl()}/upload`, { method: 'POST', body: form })
    expect(res.status).toBe(201)
    stored = (await res.json() as { filename: string }).filename
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('the stored name stays the seed\'s video_<ms>.mp4; /status and the CLI show the title', async () => {
    expect(stored).toMatch(/^video_\d+\.mp4$/)
    const reply = await postDownload(bridge.url, stored)
    expect(reply.body.download).toMatchObject({ filename: stored, title: 'Trip to Brittany' })
    await bridge.waitFor(stored, 'seeding')
    expect((await (await bridge.api('/status')).json())[stored]).toMatchObject({ filename: stored, title: 'Trip to Brittany' })
    let out = ''
    const code = await runCli(['status', '--api', bridge.url], { out: { write: t => { out += t }, isTTY: false }, err: { write: () => {} }, env: {} })
    expect(code).toBe(0)
    expect(out).toContain(`Trip to Brittany (${stored})`)
  })
})
