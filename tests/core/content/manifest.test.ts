import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  chunkCount, chunkLength, contentIdOf, decodeManifest, encodeManifest, parseManifest, verifyChunk, verifyManifest, type Manifest
} from '@core/content/manifest'
import { MAX_MANIFEST_BYTES } from '@core/content/constants'
import { makeContent, chunkOf } from '../../helpers/content'

const H = (c: string): string => c.repeat(64)
const base: Manifest = { version: 1, name: 'video_1234567890.mp4', size: 300_000, mime: 'video/mp4', chunkSize: 262144, hashes: [H('a'), H('b')] }

describe('manifest', () => {
  it('round-trips through bytes', () => {
    expect(decodeManifest(encodeManifest(base))).toEqual(base)
  })

  it('the content id covers the chunk hashes, size and chunk size, not the labels', async () => {
    const id = await contentIdOf(base)
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(await contentIdOf({ ...base, name: 'other.mp4', mime: 'video/webm' } as Manifest)).toBe(id)
    expect(await contentIdOf({ ...base, hashes: [H('a'), H('c')] })).not.toBe(id)
    expect(await contentIdOf({ ...base, hashes: [H('b'), H('a')] })).not.toBe(id)
    expect(await contentIdOf({ ...base, size: 299_999 })).not.toBe(id)
    expect(await contentIdOf({ ...base, chunkSize: 131072, size: 262144 + 1000, hashes: [H('a'), H('b'), H('c')].slice(0, 3) })).not.toBe(id)
  })

  it('the content id is SHA-256 of the documented layout (the format is frozen)', async () => {
    // "pipbingo/content/v1" ‖ size u64 BE ‖ chunkSize u32 BE ‖ raw chunk hashes
    const layout = Buffer.concat([
      Buffer.from('pipbingo/content/v1'),
      Buffer.from([0, 0, 0, 0, 0, 0, 0x01, 0x00]), // 256
      Buffer.from([0, 0x04, 0, 0]), // 262144
      Buffer.from(H('a'), 'hex')
    ])
    const expected = createHash('sha256').update(layout).digest('hex')
    expect(await contentIdOf({ size: 256, chunkSize: 262144, hashes: [H('a')] })).toBe(expected)
  })

  it('verifyManifest accepts the right id and refuses another', async () => {
    const { manifest, contentId } = await makeContent(600_000)
    await expect(verifyManifest(manifest, contentId)).resolves.toBeUndefined()
    await expect(verifyManifest(manifest, H('f'))).rejects.toMatchObject({ name: 'ContentIdMismatchError' })
  })

  it('verifyChunk accepts each real chunk and refuses a changed byte, a short chunk, a wrong index', async () => {
    const content = await makeContent(600_000)
    expect(chunkCount(content.manifest)).toBe(3)
    expect(chunkLength(content.manifest, 2)).toBe(600_000 - 2 * 262144)
    for (let i = 0; i < 3; i++) await verifyChunk(content.manifest, i, chunkOf(content, i))
    const bad = chunkOf(content, 1)
    bad[100] = (bad[100] as number) ^ 1
    await expect(verifyChunk(content.manifest, 1, bad)).rejects.toMatchObject({ name: 'ChunkHashMismatchError' })
    await expect(verifyChunk(content.manifest, 1, chunkOf(content, 1).subarray(1))).rejects.toMatchObject({ name: 'ChunkHashMismatchError' })
    await expect(verifyChunk(content.manifest, 0, chunkOf(content, 1))).rejects.toMatchObject({ name: 'ChunkHashMismatchError' })
    await expect(verifyChunk(content.manifest, 3, chunkOf(content, 1))).rejects.toMatchObject({ name: 'ChunkIndexOutOfRangeError' })
  })

  const invalid: Array<[string, unknown]> = [
    ['not an object', 'hello'],
    ['null', null],
    ['an unknown version', { ...base, version: 2 }],
    ['an extra field', { ...base, extra: 1 }],
    ['a missing field', { ...base, mime: undefined }],
    ['a path for a name', { ...base, name: '../etc/passwd' }],
    ['a name with a slash', { ...base, name: 'a/b.mp4' }],
    ['a NUL in the name', { ...base, name: 'a\u0000.mp4' }],
    ['a 300-character name', { ...base, name: `${'x'.repeat(296)}.mp4` }],
    ['a zero size', { ...base, size: 0, hashes: [] }],
    ['a negative size', { ...base, size: -1 }],
    ['a fractional size', { ...base, size: 1.5 }],
    ['a huge size', { ...base, size: 2 ** 60 }],
    ['a chunk size that is not a power of two', { ...base, chunkSize: 300_000, hashes: [H('a')] }],
    ['a tiny chunk size', { ...base, chunkSize: 1024 }],
    ['too few hashes', { ...base, hashes: [H('a')] }],
    ['too many hashes', { ...base, hashes: [H('a'), H('b'), H('c')] }],
    ['an upper-case hash', { ...base, hashes: [H('A'), H('b')] }],
    ['a short hash', { ...base, hashes: ['abc', H('b')] }],
    ['a mime that is not a media type', { ...base, mime: 'video' }],
    ['a string size', { ...base, size: '300000' }]
  ]
  it.each(invalid)('refuses %s', (_, value) => {
    expect(() => parseManifest(value)).toThrow(expect.objectContaining({ name: 'InvalidManifestError' }))
  })

  it('refuses bytes that are not UTF-8 JSON, and oversized ones, without reading them', () => {
    expect(() => decodeManifest(new Uint8Array([0xff, 0xfe, 0x7b]))).toThrow(expect.objectContaining({ name: 'InvalidManifestError' }))
    expect(() => decodeManifest(new TextEncoder().encode('{"version":1'))).toThrow(expect.objectContaining({ name: 'InvalidManifestError' }))
    expect(() => decodeManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1))).toThrow(/too large/)
  })

  it('never throws anything but InvalidManifestError on random bytes or random JSON (fuzz)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      expect(() => decodeManifest(bytes)).toThrow(expect.objectContaining({ name: 'InvalidManifestError' }))
    }), { numRuns: 2000 })
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      try {
        parseManifest(value)
      } catch (err: any) {
        expect(err.name).toBe('InvalidManifestError')
      }
    }), { numRuns: 2000 })
    // mutations of a valid manifest: each field replaced by anything
    fc.assert(fc.property(fc.constantFrom(...Object.keys(base)), fc.anything(), (key, value) => {
      try {
        parseManifest({ ...base, [key]: value })
      } catch (err: any) {
        expect(err.name).toBe('InvalidManifestError')
      }
    }), { numRuns: 2000 })
  })
})
