import { createHash } from 'node:crypto'
import { buildManifest } from '@core/content/builder'
import type { ContentId, Manifest } from '@core/content/manifest'

/** Deterministic pseudo-random bytes (xorshift32): the same seed, the same bytes. */
export function pseudoRandomBytes (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

export async function * inPieces (bytes: Uint8Array, piece = 100_000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += piece) yield bytes.subarray(i, i + piece)
}

export interface TestContent {
  bytes: Uint8Array
  manifest: Manifest
  contentId: ContentId
}

export async function makeContent (size: number, options: { seed?: number, name?: string, chunkSize?: number } = {}): Promise<TestContent> {
  const bytes = pseudoRandomBytes(size, options.seed)
  const { manifest, contentId } = await buildManifest(inPieces(bytes), {
    name: options.name ?? 'test.mp4',
    mime: 'video/mp4',
    chunkSize: options.chunkSize
  })
  return { bytes, manifest, contentId }
}

export function chunkOf (content: TestContent, index: number): Uint8Array {
  const { chunkSize, size } = content.manifest
  return content.bytes.slice(index * chunkSize, Math.min(size, (index + 1) * chunkSize))
}

/**
 * SHA-256 of some bytes, in hex: compare large buffers through this
 * (`expect(digest(a)).toBe(digest(b))`); vitest's deep equality walks
 * megabytes element by element and takes seconds.
 */
export function digest (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}
