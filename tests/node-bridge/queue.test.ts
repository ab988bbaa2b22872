import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { on } from '../../node-bridge/downloads/events'
import { OriginGate } from './origin-gate'

describe('the download queue: 3 at once, the 4th and 5th wait', () => {
  let contents: TestContent[]
  let relay: TestRelay
  let gate: OriginGate
  let bridge: TestBridge

  beforeAll(async () => {
    contents = await Promise.all([1, 2, 3, 4, 5].map(async i => await makeContent(2 * 256 * 1024 + i, { seed: 100 + i, name: `video_${i}.mp4` })))
    relay = await startRelay(contents.map(c => ({ name: c.manifest.name, bytes: c.bytes })))
    gate = await OriginGate.start(relay)
    bridge = await startBridge(relay, { relayHttp: gate.url })
  })
  afterAll(async () => {
    await bridge?.close()
    await gate?.close()
    await relay?.close()
  })

  it('queues the 4th and 5th behind 3 running ones and starts them, in order, as slots free', async () => {
    const name = (i: number): string => contents[i]!.manifest.name
    const started: string[] = []
    const maxRunning = { now: 0, max: 0 }
    on(bridge.bridge.manager, 'state', ({ from, to, status }) => {
      if (to === 'downloading') { started.push(status.filename); maxRunning.now++ }
      if (from === 'downloading') maxRunning.now--
      maxRunning.max = Math.max(maxRunning.max, maxRunning.now)
    })

    const replies = []
    for (let i = 0; i < 5; i++) replies.push(await postDownload(bridge.url, name(i)))
    expect(replies.map(r => [r.status, r.body.status])).toEqual([[200, 'started'], [200, 'started'], [200, 'started'], [200, 'queued'], [200, 'queued']])
    expect(replies[3]!.body.message).toMatch(/every download slot is busy/)
    // every answer gives the true chunk count, queued ones too (they used to say 0 until their manifest came)
    expect(replies.map(r => r.body.download.chunks_total)).toEqual([3, 3, 3, 3, 3])

    const status = await (await bridge.api('/status')).json()
    expect(Object.values(status).map((s: any) => s.status)).toEqual(['downloading', 'downloading', 'downloading', 'queued', 'queued'])
    expect(status[name(3)].started_at).toBeNull()
    expect(await (await bridge.api('/stats')).json()).toMatchObject({ downloading_files: 3, queued_files: 2 })

    // the second one finishes first: the 4th takes its slot, the 5th still waits
    const fourthStarts = bridge.waitFor(name(3), 'downloading')
    gate.open(contents[1]!.contentId)
    await bridge.waitFor(name(1), 'seeding')
    await fourthStarts
    expect(bridge.bridge.manager.get(name(4))!.state).toBe('queued')

    const fifthStarts = bridge.waitFor(name(4), 'downloading')
    gate.open(contents[0]!.contentId)
    await fifthStarts

    for (const c of contents) gate.open(c.contentId)
    for (let i = 0; i < 5; i++) await bridge.waitFor(name(i), 'seeding')
    expect(started).toEqual([name(0), name(1), name(2), name(3), name(4)])
    expect(maxRunning.max).toBe(3)
    for (const c of contents) {
      expect(digest(new Uint8Array(await (await bridge.api(`/stream/${c.manifest.name}`)).arrayBuffer()))).toBe(digest(c.bytes))
    }
  })
})
