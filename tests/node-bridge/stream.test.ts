import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { digest, makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'
import { postDownload, startBridge, type TestBridge } from '../helpers/bridge'
import type { ChunkEvent } from '@core/swarm/session'
import { OriginGate } from './origin-gate'

const CHUNK = 256 * 1024
const DONE = 'video_done.mp4'
const LIVE = 'video_live.mp4'

/** [Range header, expected status, expected [start, end] (inclusive) or null for the whole file]. */
function rangeCases (size: number): Array<[string | undefined, number, [number, number] | null]> {
  return [
    [undefined, 200, null],
    ['bytes=0-0', 206, [0, 0]],
    ['bytes=0-99', 206, [0, 99]],
    [`bytes=${CHUNK - 10}-${CHUNK + 9}`, 206, [CHUNK - 10, CHUNK + 9]], // across a chunk boundary
    [`bytes=100-${3 * CHUNK + 5}`, 206, [100, 3 * CHUNK + 5]],
    [`bytes=${size - 10}-`, 206, [size - 10, size - 1]],
    ['bytes=-500', 206, [size - 500, size - 1]], // suffix
    [`bytes=-${size + 10}`, 206, [0, size - 1]], // a suffix longer than the file: all of it
    [`bytes=${size - 1}-${size + 1000}`, 206, [size - 1, size - 1]], // clamped
    [`bytes=${size}-`, 416, null],
    [`bytes=${size + 5}-${size + 9}`, 416, null],
    ['bytes=-0', 416, null],
    ['bytes=5-2', 200, null], // invalid: ignored
    ['bytes=0-1,5-6', 200, null], // several ranges: the whole file
    ['items=0-5', 200, null]
  ]
}

async function check (url: string, content: TestContent, range: string | undefined, status: number, span: [number, number] | null): Promise<void> {
  const size = content.manifest.size
  const response = await fetch(url, { headers: range == null ? {} : { Range: range } })
  const what = `Range: ${range ?? '(none)'}`
  expect(response.status, what).toBe(status)
  expect(response.headers.get('accept-ranges'), what).toBe('bytes')
  if (status === 416) {
    expect(response.headers.get('content-range'), what).toBe(`bytes */${size}`)
    expect(Object.keys(await response.json()), what).toEqual(['error'])
    return
  }
  expect(response.headers.get('content-type'), what).toBe('video/mp4')
  const [start, end] = span ?? [0, size - 1]
  expect(response.headers.get('content-range'), what).toBe(status === 206 ? `bytes ${start}-${end}/${size}` : null)
  expect(Number(response.headers.get('content-length')), what).toBe(end - start + 1)
  const body = new Uint8Array(await response.arrayBuffer())
  expect(body.byteLength, what).toBe(end - start + 1)
  expect(digest(body), what).toBe(digest(content.bytes.subarray(start, end + 1)))
}

describe('GET /stream: exact ranges, from the cache and while downloading', () => {
  let done: TestContent
  let live: TestContent
  let relay: TestRelay
  let gate: OriginGate
  let bridge: TestBridge

  beforeAll(async () => {
    done = await makeContent(9 * CHUNK + 321, { seed: 51, name: DONE })
    live = await makeContent(40 * CHUNK + 777, { seed: 52, name: LIVE })
    relay = await startRelay([{ name: DONE, bytes: done.bytes }, { name: LIVE, bytes: live.bytes }])
    gate = await OriginGate.start(relay)
    gate.open(done.contentId)
    bridge = await startBridge(relay, { relayHttp: gate.url })
    await postDownload(bridge.url, DONE)
    await bridge.waitFor(DONE, 'seeding')
  })
  afterAll(async () => {
    await bridge?.close()
    await gate?.close()
    await relay?.close()
  })

  it('a complete file: 200, 206, suffixes, clamping, 416, ignored ranges', async () => {
    for (const [range, status, span] of rangeCases(done.manifest.size)) await check(`${bridge.url}/stream/${DONE}`, done, range, status, span)
    const head = await fetch(`${bridge.url}/stream/${DONE}`, { method: 'HEAD', headers: { Range: 'bytes=10-19' } })
    expect(head.status).toBe(206)
    expect(head.headers.get('content-range')).toBe(`bytes 10-19/${done.manifest.size}`)
    expect(head.headers.get('content-length')).toBe('10')
  })

  it('a file still downloading streams: the range asked for comes first, exact', async () => {
    expect((await postDownload(bridge.url, LIVE)).body.status).toBe('started')
    const session = await bridge.bridge.manager.get(LIVE)!.runningSession()
    const arrived: number[] = []
    session.addEventListener('chunk', e => { arrived.push((e as CustomEvent<ChunkEvent>).detail.index) })

    const start = 30 * CHUNK + 1000
    const end = 31 * CHUNK + 50
    const response = await fetch(`${bridge.url}/stream/${LIVE}`, { headers: { Range: `bytes=${start}-${end}` } })
    // the answer starts while nothing of the range is held
    expect(response.status).toBe(206)
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${live.manifest.size}`)
    expect(response.headers.get('x-pipbingo-complete')).toBe('false')
    expect(bridge.bridge.manager.get(LIVE)!.state).toBe('downloading')
    expect(session.have.has(30)).toBe(false)

    // out of range, at once, even while downloading
    const beyond = await fetch(`${bridge.url}/stream/${LIVE}`, { headers: { Range: `bytes=${live.manifest.size}-` } })
    expect(beyond.status).toBe(416)
    expect(beyond.headers.get('content-range')).toBe(`bytes */${live.manifest.size}`)
    await beyond.body?.cancel()

    gate.open(live.contentId)
    const body = new Uint8Array(await response.arrayBuffer())
    expect(digest(body)).toBe(digest(live.bytes.subarray(start, end + 1)))
    // the reader's chunks were fetched before the ones it skipped
    expect(arrived.indexOf(30)).toBeGreaterThanOrEqual(0)
    expect(arrived.indexOf(30)).toBeLessThan(arrived.indexOf(20) < 0 ? Infinity : arrived.indexOf(20))

    await bridge.waitFor(LIVE, 'seeding')
    for (const [range, status, span] of rangeCases(live.manifest.size)) await check(`${bridge.url}/stream/${LIVE}`, live, range, status, span)
  })
})
