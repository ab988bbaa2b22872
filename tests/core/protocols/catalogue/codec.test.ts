import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeList, listResponseSchema, requestSchema, type RemoteVideo } from '@core/protocols/catalogue/codec'
import { MAX_LIST_BYTES, MAX_LIST_ENTRIES } from '@core/protocols/catalogue/constants'

const video = (i: number, title = `Video ${i}`): RemoteVideo => ({
  filename: `video-${i}.mp4`, title, size: 300_000, mime: 'video/mp4', contentId: i.toString(16).padStart(64, '0'), chunks: 2, chunkSize: 262_144
})

describe('/pipbingo/catalogue/1.0.0 codec', () => {
  it('a list answer round-trips', () => {
    const entries = [video(1), { ...video(2), duration: 12.5 }]
    const { bytes, sent } = encodeList(entries)
    expect(sent).toBe(2)
    expect(decodeMessage(bytes, listResponseSchema)).toEqual({ ok: true, entries })
  })

  it('a list answer keeps the first MAX_LIST_ENTRIES videos', () => {
    const { bytes, sent } = encodeList(Array.from({ length: MAX_LIST_ENTRIES + 5 }, (_, i) => video(i)))
    expect(sent).toBe(MAX_LIST_ENTRIES)
    const decoded = decodeMessage(bytes, listResponseSchema)
    expect(decoded.ok && decoded.entries.length).toBe(MAX_LIST_ENTRIES)
  })

  it('a list answer of the longest names and titles fits; past MAX_LIST_BYTES it stops, whole entries only', () => {
    // 200 three-byte characters for a name and for a title: the largest valid entries
    const longest = Array.from({ length: MAX_LIST_ENTRIES }, (_, i) => ({ ...video(i, '界'.repeat(200)), filename: `${'界'.repeat(190)}${i}.mp4`.slice(0, 200) }))
    const all = encodeList(longest)
    expect(all.sent).toBe(MAX_LIST_ENTRIES)
    expect(decodeMessage(all.bytes, listResponseSchema)).toEqual({ ok: true, entries: longest })
    // entries larger than any valid one (the cap is the last guard)
    const huge = Array.from({ length: MAX_LIST_ENTRIES }, (_, i) => video(i, 'x'.repeat(5000)))
    const { bytes, sent } = encodeList(huge)
    expect(bytes.byteLength).toBeLessThanOrEqual(MAX_LIST_BYTES)
    expect(sent).toBe(Math.floor(MAX_LIST_BYTES / new TextEncoder().encode(JSON.stringify(huge[0]) + ',').byteLength))
    expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ ok: true, entries: huge.slice(0, sent) })
  })

  it.each([
    ['a path for a name', { ...video(1), filename: '../etc/passwd' }],
    ['chunks that do not match the size', { ...video(1), chunks: 3 }],
    ['a chunk size that is no power of two', { ...video(1), chunkSize: 300_000 }],
    ['a content id that is none', { ...video(1), contentId: 'x' }],
    ['a title past 200 characters', video(1, 'x'.repeat(201))]
  ])('refuses a list with %s', (_what, entry) => {
    expect(() => decodeMessage(new TextEncoder().encode(JSON.stringify({ ok: true, entries: [entry] })), listResponseSchema)).toThrow(/Malformed catalogue message/)
  })

  it('refuses requests it does not know, and bytes that are no JSON', () => {
    expect(decodeMessage(new TextEncoder().encode('{"type":"list"}'), requestSchema)).toEqual({ type: 'list' })
    expect(() => decodeMessage(new TextEncoder().encode('{"type":"list","all":true}'), requestSchema)).toThrow(/Malformed/)
    expect(() => decodeMessage(new TextEncoder().encode('{"type":"manifest","contentId":"../x"}'), requestSchema)).toThrow(/Malformed/)
    expect(() => decodeMessage(new Uint8Array([0xff, 0xfe]), requestSchema)).toThrow(/not UTF-8 JSON/)
  })
})
