import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { nextEvent, postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import { OriginGate } from './origin-gate'

const HELD = 'video_held.mp4'
const OTHER = 'video_other.mp4'

describe('the cache at start-up, cancel, the catalogue, events and metrics', () => {
  let held: TestContent
  let other: TestContent
  let relay: TestRelay | undefined
  let gate: OriginGate | undefined
  let bridge: TestBridge | undefined
  let dir: string | undefined

  beforeAll(async () => {
    held = await makeContent(5 * 256 * 1024 + 17, { seed: 71, name: HELD })
    other = await makeContent(7 * 256 * 1024 + 3, { seed: 72, name: OTHER })
  })
  afterEach(async () => {
    await bridge?.close()
    await gate?.close()
    await relay?.close()
    if (dir != null) await rm(dir, { recursive: true, force: true })
    bridge = gate = relay = dir = undefined
  })

  const served = async (): Promise<number> => await relay!.metric('pipbingo_libp2p_bytes_served_total') + await relay!.metric('pipbingo_http_bytes_served_total')

  it('a file dropped in the cache by hand is seeded at start-up and never downloaded again', async () => {
    relay = await startRelay([{ name: HELD, bytes: held.bytes }, { name: OTHER, bytes: other.bytes }])
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-cache-'))
    await mkdir(join(dir, 'cache'))
    await writeFile(join(dir, 'cache', HELD), held.bytes)
    const mtime = new Date('2025-11-21T10:45:12Z')
    await utimes(join(dir, 'cache', HELD), mtime, mtime)
    bridge = await startBridge(relay, { dir })

    const status = await (await bridge.api('/status')).json()
    expect(status[HELD]).toMatchObject({
      filename: HELD, status: 'seeding', progress: 100, bytes_downloaded: held.manifest.size, total_bytes: held.manifest.size,
      started_at: '2025-11-21T10:45:12Z', completed_at: '2025-11-21T10:45:12Z', content_id: held.contentId
    })
    expect(await (await bridge.api('/stats')).json()).toMatchObject({ seeding_files: 1, downloading_files: 0, cache_files: 1 })
    // the tracker knows the bridge holds it
    await bridge.bridge.relayLink.waitConnected()
    await bridge.bridge.announcer.settled()
    expect(relay.relay.registry.find(held.contentId).some(p => p.peer === bridge!.bridge.node.peerId.toString() && p.complete)).toBe(true)

    // the catalogue marks it cached; asking for it downloads nothing
    const list = await (await bridge.api('/list')).json() as Array<{ filename: string, cached: boolean, contentId: string }>
    expect(list.map(e => [e.filename, e.cached]).sort()).toEqual([[HELD, true], [OTHER, false]])
    const reply = await postDownload(bridge.url, HELD)
    expect(reply.body).toMatchObject({ status: 'completed', cached: true })
    expect(await served()).toBe(0)
    expect(digest(new Uint8Array(await (await bridge.api(`/stream/${HELD}`)).arrayBuffer()))).toBe(digest(held.bytes))
  })

  it('DELETE cancels a running download and deletes its partial; it can be asked for again; a seeding file is not cancelled', async () => {
    relay = await startRelay([{ name: HELD, bytes: held.bytes }, { name: OTHER, bytes: other.bytes }])
    gate = await OriginGate.start(relay)
    gate.allow(other.contentId, 2)
    gate.open(held.contentId)
    bridge = await startBridge(relay, { relayHttp: gate.url })
    await postDownload(bridge.url, HELD)
    await bridge.waitFor(HELD, 'seeding')

    expect((await postDownload(bridge.url, OTHER)).body.status).toBe('started')
    await bridge.bridge.manager.get(OTHER)!.runningSession()
    expect(await readdir(join(bridge.dir, 'cache'))).toContain(`${OTHER}.part`)
    const cancelled = await bridge.api(`/download/${OTHER}`, { method: 'DELETE' })
    expect(cancelled.status).toBe(200)
    expect(await cancelled.json()).toMatchObject({ status: 'cancelled', filename: OTHER })
    expect((await (await bridge.api('/status')).json())[OTHER].status).toBe('cancelled')
    expect(await readdir(join(bridge.dir, 'cache'))).not.toContain(`${OTHER}.part`)
    expect(await bridge.bridge.store.have(other.contentId)).toBeUndefined()
    // again: idempotent
    expect((await bridge.api(`/download/${OTHER}`, { method: 'DELETE' })).status).toBe(200)

    const seeding = await bridge.api(`/download/${HELD}`, { method: 'DELETE' })
    expect(seeding.status).toBe(409)
    expect(Object.keys(await seeding.json())).toEqual(['error'])

    expect((await postDownload(bridge.url, OTHER)).body.status).toBe('started')
    gate.open(other.contentId)
    await bridge.waitFor(OTHER, 'seeding')
    expect(digest(new Uint8Array(await (await bridge.api(`/stream/${OTHER}`)).arrayBuffer()))).toBe(digest(other.bytes))
  })

  it('GET /events: a snapshot, then the states and progress of a download', async () => {
    relay = await startRelay([{ name: OTHER, bytes: other.bytes }])
    bridge = await startBridge(relay)
    const seen: Array<[string, any]> = []
    const done = nextEvent(bridge.url, (event, data: any) => {
      seen.push([event, data])
      return event === 'state' && data.to === 'seeding'
    })
    // the stream is open once its snapshot is in
    await nextEvent(bridge.url, event => event === 'snapshot')
    await postDownload(bridge.url, OTHER)
    await done
    expect(seen[0]).toEqual(['snapshot', {}])
    expect(seen.filter(([e]) => e === 'state').map(([, d]) => d.to)).toEqual(['downloading', 'completed', 'seeding'])
    const progress = seen.filter(([e]) => e === 'progress').map(([, d]) => d)
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress.at(-1)).toMatchObject({ filename: OTHER, chunks_downloaded: 8, chunks_total: 8, progress: 100 })
  })

  it('GET /metrics: Prometheus text with the byte counters and states', async () => {
    relay = await startRelay([{ name: OTHER, bytes: other.bytes }])
    bridge = await startBridge(relay)
    await postDownload(bridge.url, OTHER)
    await bridge.waitFor(OTHER, 'seeding')
    const response = await bridge.api('/metrics')
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await response.text()
    const value = (line: string): number => Number(text.split('\n').find(l => l.startsWith(`${line} `))?.split(' ')[1])
    expect(value('pipbingo_bridge_bytes_from_peers_total') + value('pipbingo_bridge_bytes_from_origin_total')).toBe(other.manifest.size)
    expect(value('pipbingo_bridge_downloads{state="seeding"}')).toBe(1)
    expect(value('pipbingo_bridge_relay_connected')).toBe(1)
    expect(value('pipbingo_bridge_cache_files')).toBe(1)
    expect(text).toContain('process_cpu_user_seconds_total')
  })

  it('GET /list when the relay is gone: 502 JSON', async () => {
    relay = await startRelay([])
    bridge = await startBridge(relay)
    await relay.close()
    relay = undefined
    const response = await bridge.api('/list')
    expect(response.status).toBe(502)
    expect(Object.keys(await response.json())).toEqual(['error'])
    const post = await postDownload(bridge.url, OTHER)
    expect(post.status).toBe(502)
  })
})
