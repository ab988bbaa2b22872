import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { startBridge, type TestBridge } from '../helpers/bridge'

/**
 * The seed's "Tester le Client Daemon" section, run as written (fetch in
 * place of curl), in order, against a real relay and a real bridge.
 */
const NAME = 'video_1234567890.mp4'
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

describe('the seed\'s examples, as written', () => {
  let content: TestContent
  let relay: TestRelay
  let bridge: TestBridge

  beforeAll(async () => {
    // 45 chunks, as in the seed's log lines
    content = await makeContent(44 * 256 * 1024 + 4096, { seed: 11, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
    // in French, as the seed's documents: its console lines and messages, word for word
    bridge = await startBridge(relay, { lang: 'fr' })
    await bridge.bridge.relayLink.waitConnected()
  })
  afterAll(async () => {
    await bridge?.close()
    await relay?.close()
  })

  it('Test 1: GET /health answers OK', async () => {
    const response = await bridge.api('/health')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    expect(await response.text()).toBe('OK')
  })

  it('Test 2: GET /stats gives the five integers, connected to the relay', async () => {
    const stats = await (await bridge.api('/stats')).json()
    expect(stats).toMatchObject({ seeding_files: 0, downloading_files: 0, cache_files: 0 })
    expect(stats.peer_id).toBe(bridge.bridge.node.peerId.toString())
    expect(stats.peer_id).toMatch(/^12D3KooW/)
    for (const key of ['connected_peers', 'seeding_files', 'downloading_files', 'cache_files']) expect(Number.isInteger(stats[key]), key).toBe(true)
    expect(stats.connected_peers).toBeGreaterThanOrEqual(1)
    expect(stats.relay_connected).toBe(true)
  })

  it('Test 3: the relay lists the video, POST /download starts it, the console shows the seed\'s lines', async () => {
    const list = await (await fetch(`${relay.relay.httpUrl()}/list`)).json() as Array<{ filename: string }>
    expect(list.map(e => e.filename)).toContain(NAME)

    const response = await fetch(`${bridge.url}/download`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"filename": "video_1234567890.mp4"}'
    })
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body).toMatchObject({ status: 'started', message: 'Téléchargement démarré' })
    expect(typeof body.message).toBe('string')

    await bridge.waitFor(NAME, 'seeding')
    const lines = bridge.lines
    expect(lines[0]).toBe(`📥 Début du téléchargement P2P: ${NAME}`)
    const chunkLines = lines.filter(l => l.startsWith('   Chunk '))
    expect(chunkLines.length).toBeGreaterThanOrEqual(1)
    // the seed's line, with the one unit convention (decimal: its 1024.50 Ko/s reads 1.0 Mo/s)
    for (const line of chunkLines) expect(line).toMatch(/^ {3}Chunk \d{1,2}\/45 \(\d{1,3}\.\d%\) - \d+(\.\d)? [km]?o\/s$/i)
    expect(chunkLines.at(-1)).toMatch(/^ {3}Chunk 45\/45 \(100\.0%\) - \d+(\.\d)? [kMG]?o\/s$/)
    expect(lines.slice(-2)).toEqual([`✅ Téléchargement terminé: ${NAME}`, `🌱 Début du seeding: ${NAME}`])
  })

  it('Test 4: GET /status is keyed by filename with the contract\'s fields', async () => {
    const status = await (await bridge.api('/status')).json()
    expect(Object.keys(status)).toEqual([NAME])
    const entry = status[NAME]
    expect(entry).toMatchObject({
      filename: NAME,
      status: 'seeding',
      progress: 100,
      bytes_downloaded: content.manifest.size,
      total_bytes: content.manifest.size
    })
    expect(Number.isInteger(entry.peers_connected)).toBe(true)
    expect(entry.peers_connected).toBeGreaterThanOrEqual(1)
    expect(typeof entry.download_speed).toBe('number')
    expect(entry.download_speed).toBeGreaterThan(0)
    expect(entry.started_at).toMatch(ISO_UTC)
    expect(entry.completed_at).toMatch(ISO_UTC)
    expect(Date.parse(entry.completed_at)).toBeGreaterThanOrEqual(Date.parse(entry.started_at))
  })

  it('Test 5: GET /stream/<file> gives the file (curl -o local_video.mp4)', async () => {
    const response = await bridge.api(`/stream/${NAME}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('accept-ranges')).toBe('bytes')
    expect(response.headers.get('content-type')).toBe('video/mp4')
    expect(Number(response.headers.get('content-length'))).toBe(content.manifest.size)
    expect(digest(new Uint8Array(await response.arrayBuffer()))).toBe(digest(content.bytes))
  })

  it('Test 6: GET /stats after the download: one file seeding, one in the cache', async () => {
    const stats = await (await bridge.api('/stats')).json()
    expect(stats).toMatchObject({ seeding_files: 1, downloading_files: 0, cache_files: 1 })
    expect(stats.connected_peers).toBeGreaterThanOrEqual(1)
  })

  it('asking again downloads nothing: the answer says it is in the cache', async () => {
    const served = async (): Promise<number> => await relay.metric('pipbingo_libp2p_bytes_served_total') + await relay.metric('pipbingo_http_bytes_served_total')
    const before = await served()
    const response = await fetch(`${bridge.url}/download`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filename: NAME }) })
    expect(response.status).toBe(200)
    const body = await response.json()
    expect(body).toMatchObject({ status: 'completed', cached: true })
    expect(body.message).toMatch(/cache/i)
    expect(await served()).toBe(before)
  })
})
