import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  bridgeDownloadSchema, bridgeStatsSchema, downloadReplySchema, errorReplySchema, parseStatus, stateEventSchema
} from '../../../../web/app/bridge/schemas'
import { failureWords, formatSpeed, stateWords, statusWord, wholePercent } from '../../../../web/app/bridge/format'
import { makeContent, type TestContent } from '../../../helpers/content'
import { startRelay, type TestRelay } from '../../../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../../../helpers/bridge'

const NAME = 'video_1700000000000.mp4'

interface SseEvent { event: string, data: unknown }

/** Read `GET /events` until `until` accepts an event; every event read, in order. */
async function collectEvents (url: string, until: (e: SseEvent) => boolean, ready: () => void): Promise<SseEvent[]> {
  const controller = new AbortController()
  const response = await fetch(`${url}/events`, { signal: AbortSignal.any([controller.signal, AbortSignal.timeout(30_000)]) })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  const events: SseEvent[] = []
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the event stream ended')
      buffer += value
      let cut: number
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event == null || data == null) continue
        const e = { event, data: JSON.parse(data) as unknown }
        events.push(e)
        if (event === 'snapshot') ready()
        if (until(e)) return events
      }
    }
  } finally {
    controller.abort()
  }
}

/**
 * The web app's schemas for the local bridge accept what a real bridge
 * says: `/status`, `/stats`, `POST /download` and its errors, and every
 * event of a captured `/events` stream while a download runs to seeding.
 */
describe('web/app/bridge schemas against a real bridge', () => {
  let content: TestContent
  let relay: TestRelay
  let bridge: TestBridge

  beforeAll(async () => {
    content = await makeContent(12 * 256 * 1024 + 777, { seed: 5, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
    bridge = await startBridge(relay)
    await bridge.bridge.relayLink.waitConnected()
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('an empty /status and a fresh /stats parse', async () => {
    expect(parseStatus(await (await bridge.api('/status')).json())).toEqual([])
    const stats = bridgeStatsSchema.parse(await (await bridge.api('/stats')).json())
    expect(stats.peer_id).toBe(bridge.bridge.node.peerId.toString())
    expect(stats).toMatchObject({ seeding_files: 0, downloading_files: 0, cache_files: 0, relay_connected: true })
  })

  it('a captured /events stream, the POST reply, then /status and /stats parse', async () => {
    let snapshotSeen!: () => void
    const subscribed = new Promise<void>(resolve => { snapshotSeen = resolve })
    const captured = collectEvents(bridge.url, e => e.event === 'state' && (e.data as any).to === 'seeding', snapshotSeen)
    await subscribed
    const reply = await postDownload(bridge.url, NAME)
    expect(reply.status).toBe(200)
    expect(downloadReplySchema.parse(reply.body).download?.filename).toBe(NAME)
    const events = await captured

    expect(events[0]?.event).toBe('snapshot')
    expect(parseStatus(events[0]?.data)).toEqual([])
    const progress = events.filter(e => e.event === 'progress').map(e => bridgeDownloadSchema.parse(e.data))
    const states = events.filter(e => e.event === 'state').map(e => stateEventSchema.parse(e.data))
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.every(p => p.filename === NAME && p.status === 'downloading')).toBe(true)
    expect(states.map(s => s.to)).toEqual(expect.arrayContaining(['downloading', 'completed', 'seeding']))
    expect(states.at(-1)?.status).toMatchObject({ filename: NAME, status: 'seeding', progress: 100, total_bytes: content.manifest.size })

    const [entry] = parseStatus(await (await bridge.api('/status')).json())
    expect(entry).toMatchObject({ filename: NAME, status: 'seeding', progress: 100, bytes_downloaded: content.manifest.size })
    expect(typeof entry?.completed_at).toBe('string')
    const stats = bridgeStatsSchema.parse(await (await bridge.api('/stats')).json())
    expect(stats).toMatchObject({ seeding_files: 1, cache_files: 1 })
    expect((stats.bytes_from_peers ?? 0) + (stats.bytes_from_origin ?? 0)).toBeGreaterThanOrEqual(content.manifest.size)

    const again = downloadReplySchema.parse((await postDownload(bridge.url, NAME)).body)
    expect(again).toMatchObject({ status: 'completed', download: { status: 'seeding' } })
  })

  it('the bridge\'s refusals parse as { error }', async () => {
    const unknown = await postDownload(bridge.url, 'nope.mp4')
    expect(unknown.status).toBe(404)
    expect(errorReplySchema.parse(unknown.body).error.length).toBeGreaterThan(0)
    const bad = await postDownload(bridge.url, '../x')
    expect(bad.status).toBe(400)
    expect(errorReplySchema.parse(bad.body).error.length).toBeGreaterThan(0)
  })
})

describe('parseStatus', () => {
  const good = {
    filename: 'a.mp4', status: 'downloading', progress: 12.5, bytes_downloaded: 1, total_bytes: 8,
    peers_connected: 1, download_speed: 3.2, started_at: '2025-11-21T10:45:00Z', completed_at: null
  }

  it('keeps the seed\'s fields, drops unknown ones, skips entries it cannot read', () => {
    const parsed = parseStatus({
      'a.mp4': { ...good, some_future_field: [1, 2] },
      'b.mp4': { ...good, filename: 'b.mp4', status: 'teleporting' },
      'c.mp4': { filename: 'c.mp4' }
    })
    expect(parsed).toEqual([good])
  })

  it('accepts the seed\'s own example, which has no extras and no completed_at', () => {
    const { completed_at: _, ...seed } = good
    expect(parseStatus({ 'a.mp4': seed })).toHaveLength(1)
  })

  it('refuses a reply that is not an object of entries', () => {
    for (const body of [null, [], 'OK', 3]) expect(() => parseStatus(body)).toThrow()
  })
})

describe('format', () => {
  it('speeds are KB/s of 1024 bytes, shown like the app\'s other rates', () => { expect(formatSpeed(1000)).toBe('1.0 MB/s') })

  it('a whole percent reaches 100 only when done', () => {
    expect([0, 12.7, 99.99, 100].map(wholePercent)).toEqual([0, 12, 99, 100])
  })

  it('every status has words', () => {
    for (const s of ['queued', 'downloading', 'completed', 'seeding', 'failed', 'cancelled'] as const) expect(statusWord(s)).toMatch(/\w/)
  })

  it.each([
    [{ status: 'queued', waiting_for: 'source' }, 'Looking for someone who has it', undefined],
    [{ status: 'queued', waiting_for: 'slot' }, 'Waiting for a free slot', undefined],
    [{ status: 'queued' }, 'Waiting for a free slot', undefined], // an older bridge
    [{ status: 'failed', error_code: 'disk_full', error: 'The disk holding the cache (/c) is full (ENOSPC)' }, 'Failed: the disk is full', /disk holding the bridge's cache is full\. What was saved is kept/],
    [{ status: 'failed', error_code: 'no_source', error: 'no peer or origin has this file' }, 'Failed: nobody has it', /^No peer and not the server has this video/],
    [{ status: 'failed', error_code: 'other', error: 'The relay cannot be reached' }, 'Failed', /^The relay cannot be reached$/],
    [{ status: 'failed', error: 'boom' }, 'Failed', /^boom$/], // an older bridge
    [{ status: 'downloading' }, 'Downloading', undefined]
  ] as const)('states in words: %j', (d, state, why) => {
    expect(stateWords(d as any)).toBe(state)
    if (why == null) expect(failureWords(d as any)).toBeUndefined()
    else expect(failureWords(d as any)).toMatch(why)
  })
})
