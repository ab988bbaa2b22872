import { describe, expect, it } from 'vitest'
import { fromBase64, toBase64 } from '@core/protocols/chat/base64'
import { decodeFrame, decodeJson, encodeFrame, encodeHeader, encodeJson, FLAG_SEALED, FrameType } from '@core/protocols/chat/codec'
import { MAX_FRAME_BYTES } from '@core/protocols/chat/constants'

describe('chat frames', () => {
  it('round-trip header and body', () => {
    const body = encodeJson({ id: 'ab'.repeat(16), text: 'salut', sent_at: '2025-01-01T12:00:00.000Z' })
    const frame = decodeFrame(encodeFrame(encodeHeader(FrameType.Message, FLAG_SEALED, 0x01020304), body))
    expect(frame).toMatchObject({ type: FrameType.Message, flags: FLAG_SEALED, seq: 0x01020304 })
    expect([...frame.header]).toEqual([2, 1, 1, 2, 3, 4])
    expect(decodeJson(FrameType.Message, frame.body).text).toBe('salut')
  })

  it.each([
    ['shorter than a header', new Uint8Array([1, 0, 0])],
    ['an unknown type', new Uint8Array([99, 0, 0, 0, 0, 0])],
    ['unknown flags', new Uint8Array([1, 6, 0, 0, 0, 0])],
    ['too large', new Uint8Array(MAX_FRAME_BYTES + 1).fill(1, 0, 1)]
  ])('refuses a frame %s', (_what, bytes) => {
    expect(() => decodeFrame(bytes)).toThrow(expect.objectContaining({ name: 'ChatProtocolError' }))
  })

  it.each(([
    [FrameType.Message, '{"id":"zz","text":"x","sent_at":"now"}', 'id: expected 32 hex digits'],
    [FrameType.Message, '{"id":"abababababababababababababababab","text":"x","sent_at":"now","more":1}', 'Unrecognized key'],
    [FrameType.FileOffer, '{"id":"abababababababababababababababab","name":"x","size":-1,"chunk_size":8192}', 'size'],
    [FrameType.FileOffer, '{"id":"abababababababababababababababab","name":"x","size":1,"chunk_size":1}', 'chunk_size'],
    [FrameType.Hello, '{"name":""}', 'name'],
    [FrameType.KeysInit, '{"public_key":"not base64!"}', 'expected base64'],
    [FrameType.Ack, 'not json', 'not UTF-8 JSON']
  ] as Array<[FrameType, string, string]>).map(([type, text, message]) => [FrameType[type], type, text, message] as const))('checks a %s body against its schema', (_name, type, text, message) => {
    expect(() => decodeJson(type as any, new TextEncoder().encode(text))).toThrow(message)
  })

  it('base64 is strict', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7919) & 0xff)
    expect(fromBase64(toBase64(bytes))).toEqual(bytes)
    for (const bad of ['abc', 'ab c=', 'a-b_', 'YQ', '====']) expect(fromBase64(bad), bad).toBeUndefined()
    expect(fromBase64('YQ==')).toEqual(new Uint8Array([97]))
  })
})
