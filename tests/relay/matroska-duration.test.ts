import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { findDuration, readMatroskaDuration } from '../../relay/library/matroska-duration'
import { startRelay, type TestRelay } from '../helpers/relay'

const WEBM = 'tests/fixtures/tiny-3.5s.webm'
const MKV = 'tests/fixtures/tiny-3.5s.mkv'

/** Issue 13, row 8: WebM and Matroska videos get a duration, as MP4s do. Fixtures: 3.5 s of testsrc made by ffmpeg (VP8), as WebM and remuxed to MKV. */
describe('Matroska/WebM duration', () => {
  it.each([[WEBM], [MKV]])('%s: 3.5 s from Segment/Info/Duration', async (path) => {
    expect(await readMatroskaDuration(path)).toBeCloseTo(3.5, 3)
  })

  it('is undefined, never an error, for what is not a Matroska file with a duration', async () => {
    const webm = new Uint8Array(await readFile(WEBM))
    const at = (bytes: Uint8Array) => async (position: number, length: number): Promise<Uint8Array> => bytes.subarray(position, position + length)
    expect(await readMatroskaDuration('tests/fixtures/seek-long.mp4')).toBeUndefined()
    expect(await findDuration(at(webm.subarray(0, 40)), 40)).toBeUndefined() // cut before Info
    for (let seed = 1; seed <= 200; seed++) {
      const random = Uint8Array.from({ length: 256 }, (_, i) => (seed * 2654435761 + i * 40503) >>> 24)
      expect(await findDuration(at(random), random.byteLength)).toBeUndefined()
    }
  })
})

describe('the catalogue lists a WebM\'s duration', () => {
  let relay: TestRelay
  beforeAll(async () => {
    relay = await startRelay([{ name: 'clip.webm', bytes: new Uint8Array(await readFile(WEBM)) }])
  })
  afterAll(async () => { await relay?.close() })

  it('GET /list: duration 3.5 for clip.webm', async () => {
    const list = await (await fetch(`${relay.relay.httpUrl()}/list`)).json() as Array<{ filename: string, duration?: number, mime: string }>
    expect(list.find(e => e.filename === 'clip.webm')).toMatchObject({ mime: 'video/webm', duration: 3.5 })
  })
})
