import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildManifest } from '@core/content/builder'
import { CHUNK_SIZE } from '@core/content/constants'
import { contentIdOf, type ContentId, type Manifest } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import { pseudoRandomBytes as xorshiftBytes } from '../../helpers/content'

/** Deterministic pseudo-random bytes: the same seed gives the same file (seeds spread apart). */
export function pseudoRandomBytes (length: number, seed: number): Uint8Array {
  return xorshiftBytes(length, (seed * 2654435761) >>> 0)
}

export interface Content {
  bytes: Uint8Array
  manifest: Manifest
  contentId: ContentId
  count: number
  chunk(index: number): Uint8Array
}

/** A content of `chunks` chunks (fractions allowed), its manifest built by `buildManifest` from odd-sized pieces. */
export async function makeContent (options: { chunks: number, chunkSize?: number, seed: number, name?: string }): Promise<Content> {
  const chunkSize = options.chunkSize ?? 16 * 1024
  const bytes = pseudoRandomBytes(Math.round(options.chunks * chunkSize), options.seed)
  const { manifest, contentId } = await buildManifest(pieces(bytes, 10_007), {
    name: options.name ?? `video-${options.seed}.mp4`, mime: 'video/mp4', chunkSize
  })
  return {
    bytes,
    manifest,
    contentId,
    count: manifest.hashes.length,
    chunk: index => bytes.slice(index * chunkSize, Math.min(bytes.byteLength, (index + 1) * chunkSize))
  }
}

async function * pieces (bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size)
}

/** Resolves to the error's name; fails the test if the promise resolves. */
export async function rejectionName (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    return (err as Error).name
  }
  throw new Error('expected a rejection, the operation succeeded')
}

/** Byte-exact comparison that stays fast for large buffers (toEqual walks element by element). */
export function expectBytes (actual: Uint8Array | undefined, expected: Uint8Array | undefined): void {
  if (expected == null || actual == null) {
    expect(actual).toBe(expected)
    return
  }
  expect(actual.byteLength, 'byte length').toBe(expected.byteLength)
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength)
    .equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))
  if (!same) {
    const at = actual.findIndex((byte, i) => byte !== expected[i])
    expect.fail(`bytes differ first at offset ${at}: ${actual[at]} !== ${expected[at]}`)
  }
}

export interface StoreUnderTest {
  store: ChunkStore
  cleanup(): Promise<void>
}

/**
 * The contract of ChunkStore (web/core/store/types.ts), for every
 * implementation: call it from a test file with a factory that makes a fresh,
 * empty store.
 */
export function chunkStoreCompliance (name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`ChunkStore compliance: ${name}`, () => {
    let subject: StoreUnderTest
    let store: ChunkStore
    let a: Content
    let b: Content

    beforeEach(async () => {
      subject = await factory()
      store = subject.store
      a = await makeContent({ chunks: 3.5, seed: 1 })
      b = await makeContent({ chunks: 2.25, seed: 2 })
    })
    afterEach(async () => {
      await subject.cleanup()
    })

    async function putAll (content: Content): Promise<void> {
      for (let i = 0; i < content.count; i++) await store.putChunk(content.contentId, i, content.chunk(i))
    }

    describe('manifests', () => {
      it('starts empty', async () => {
        expect(await store.listContents()).toEqual([])
        expect(await store.getManifest(a.contentId)).toBeUndefined()
        expect(await store.have(a.contentId)).toBeUndefined()
      })

      it('putManifest returns the content id and is idempotent', async () => {
        expect(a.count).toBe(4)
        expect(await store.putManifest(a.manifest)).toBe(await contentIdOf(a.manifest))
        expect(await store.putManifest(a.manifest)).toBe(a.contentId)
        expect(await store.putManifest({ ...a.manifest, name: 'another label.mp4' })).toBe(a.contentId)
        expect(await store.listContents()).toEqual([a.contentId])
      })

      it('getManifest and listContents return what was put', async () => {
        await store.putManifest(a.manifest)
        await store.putManifest(b.manifest)
        expect(await store.getManifest(a.contentId)).toEqual(a.manifest)
        expect(await store.getManifest(b.contentId)).toEqual(b.manifest)
        expect([...await store.listContents()].sort()).toEqual([a.contentId, b.contentId].sort())
      })

      it('a new content holds no chunk', async () => {
        await store.putManifest(a.manifest)
        const have = await store.have(a.contentId)
        expect(have?.length).toBe(4)
        expect(have?.count()).toBe(0)
        expect(await store.getChunk(a.contentId, 0)).toBeUndefined()
      })
    })

    describe('putChunk and getChunk', () => {
      beforeEach(async () => {
        await store.putManifest(a.manifest)
      })

      it('returns the exact bytes, the last chunk shorter', async () => {
        await store.putChunk(a.contentId, 1, a.chunk(1))
        await store.putChunk(a.contentId, 3, a.chunk(3))
        expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
        const last = await store.getChunk(a.contentId, 3)
        expect(last?.byteLength).toBe(8 * 1024)
        expectBytes(last, a.chunk(3))
      })

      it('have() reflects exactly the stored chunks', async () => {
        await store.putChunk(a.contentId, 0, a.chunk(0))
        await store.putChunk(a.contentId, 2, a.chunk(2))
        await store.putChunk(a.contentId, 2, a.chunk(2)) // again: no change
        const have = await store.have(a.contentId)
        expect([...have!.indices()]).toEqual([0, 2])
        expect(have!.count()).toBe(2)
        expect(await store.getChunk(a.contentId, 1)).toBeUndefined()
      })

      it('all chunks read back make the original bytes', async () => {
        await putAll(a)
        expect((await store.have(a.contentId))!.isComplete()).toBe(true)
        const parts: Uint8Array[] = []
        for (let i = 0; i < a.count; i++) parts.push((await store.getChunk(a.contentId, i))!)
        expectBytes(Buffer.concat(parts), a.bytes)
      })

      it('refuses a chunk that does not match its hash, and stores nothing', async () => {
        const bad = a.chunk(1)
        bad[100] = bad[100]! ^ 0x01
        expect(await rejectionName(store.putChunk(a.contentId, 1, bad))).toBe('ChunkHashMismatchError')
        expect(await rejectionName(store.putChunk(a.contentId, 0, a.chunk(1)))).toBe('ChunkHashMismatchError')
        expect(await rejectionName(store.putChunk(a.contentId, 3, a.chunk(3).subarray(1)))).toBe('ChunkHashMismatchError')
        expect(await rejectionName(store.putChunk(a.contentId, 2, new Uint8Array(0)))).toBe('ChunkHashMismatchError')
        expect((await store.have(a.contentId))!.count()).toBe(0)
        for (const i of [0, 1, 2, 3]) expect(await store.getChunk(a.contentId, i)).toBeUndefined()
      })

      it('a bad chunk does not disturb one already stored', async () => {
        await store.putChunk(a.contentId, 1, a.chunk(1))
        expect(await rejectionName(store.putChunk(a.contentId, 1, a.chunk(2)))).toBe('ChunkHashMismatchError')
        expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
        expect([...(await store.have(a.contentId))!.indices()]).toEqual([1])
      })

      it('refuses an index outside the content', async () => {
        for (const index of [4, 5, -1, 1.5, Number.NaN]) {
          expect(await rejectionName(store.putChunk(a.contentId, index, a.chunk(0)))).toBe('ChunkIndexOutOfRangeError')
        }
        expect(await store.getChunk(a.contentId, 4)).toBeUndefined()
        expect(await store.getChunk(a.contentId, -1)).toBeUndefined()
        expect((await store.have(a.contentId))!.count()).toBe(0)
      })

      it('refuses a chunk of an unknown content', async () => {
        expect(await rejectionName(store.putChunk(b.contentId, 0, b.chunk(0)))).toBe('UnknownContentError')
        expect(await store.getChunk(b.contentId, 0)).toBeUndefined()
        expect(await store.listContents()).toEqual([a.contentId])
      })

      it('accepts a chunk that is a view into a larger buffer', async () => {
        const padded = new Uint8Array(a.chunk(2).byteLength + 64)
        padded.set(a.chunk(2), 32)
        await store.putChunk(a.contentId, 2, padded.subarray(32, 32 + a.chunk(2).byteLength))
        expectBytes(await store.getChunk(a.contentId, 2), a.chunk(2))
      })

      it('a caller mutating buffers it gave or got does not corrupt the store', async () => {
        const given = a.chunk(0)
        await store.putChunk(a.contentId, 0, given)
        given.fill(0)
        const got = (await store.getChunk(a.contentId, 0))!
        expectBytes(got, a.chunk(0))
        got.fill(7)
        expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
        const have = (await store.have(a.contentId))!
        have.set(3)
        expect((await store.have(a.contentId))!.has(3)).toBe(false)
      })

      it('concurrent putChunk of different chunks all land', async () => {
        await Promise.all([3, 0, 2, 1].map(async i => { await store.putChunk(a.contentId, i, a.chunk(i)) }))
        expect((await store.have(a.contentId))!.isComplete()).toBe(true)
        for (let i = 0; i < a.count; i++) expectBytes(await store.getChunk(a.contentId, i), a.chunk(i))
      })

      it('concurrent putChunk of the same chunk stores it once', async () => {
        await Promise.all([1, 1, 1].map(async i => { await store.putChunk(a.contentId, i, a.chunk(i)) }))
        expect([...(await store.have(a.contentId))!.indices()]).toEqual([1])
        expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
      })
    })

    describe('onChunk', () => {
      beforeEach(async () => {
        await store.putManifest(a.manifest)
        await store.putManifest(b.manifest)
      })

      it('tells each chunk stored, once, when have() and getChunk() show it, before putChunk resolves', async () => {
        const told: number[] = []
        const seen: Array<Promise<[boolean, Uint8Array | undefined]>> = []
        store.onChunk(a.contentId, index => {
          told.push(index)
          seen.push(Promise.all([store.have(a.contentId).then(h => h?.has(index) === true), store.getChunk(a.contentId, index)]))
        })
        await store.putChunk(a.contentId, 2, a.chunk(2))
        expect(told).toEqual([2])
        await store.putChunk(a.contentId, 0, a.chunk(0))
        expect(told).toEqual([2, 0])
        const [[held2, bytes2], [held0, bytes0]] = await Promise.all(seen) as [[boolean, Uint8Array | undefined], [boolean, Uint8Array | undefined]]
        expect([held2, held0]).toEqual([true, true])
        expectBytes(bytes2, a.chunk(2))
        expectBytes(bytes0, a.chunk(0))
      })

      it('is silent for a chunk already held, a bad chunk, an index out of range and another content', async () => {
        await store.putChunk(a.contentId, 1, a.chunk(1))
        const told: number[] = []
        store.onChunk(a.contentId, index => { told.push(index) })
        await store.putChunk(a.contentId, 1, a.chunk(1))
        expect(await rejectionName(store.putChunk(a.contentId, 3, a.chunk(2)))).toBe('ChunkHashMismatchError')
        expect(await rejectionName(store.putChunk(a.contentId, 4, a.chunk(0)))).toBe('ChunkIndexOutOfRangeError')
        await store.putChunk(b.contentId, 0, b.chunk(0))
        expect(told).toEqual([])
      })

      it('tells a chunk put concurrently several times once', async () => {
        const told: number[] = []
        store.onChunk(a.contentId, index => { told.push(index) })
        await Promise.all([3, 3, 0, 3].map(async i => { await store.putChunk(a.contentId, i, a.chunk(i)) }))
        expect([...told].sort()).toEqual([0, 3])
      })

      it('stops when told to; every listener hears, and one that throws stops neither the others nor the put', async () => {
        const first: number[] = []
        const second: number[] = []
        const stopFirst = store.onChunk(a.contentId, index => { first.push(index) })
        const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
        const reported = vi.fn()
        const hadReportError = 'reportError' in globalThis
        const original = globalThis.reportError
        globalThis.reportError = reported
        try {
          store.onChunk(a.contentId, () => { throw new Error('a broken listener') })
          store.onChunk(a.contentId, index => { second.push(index) })
          await store.putChunk(a.contentId, 0, a.chunk(0))
          stopFirst()
          stopFirst() // twice is harmless
          await store.putChunk(a.contentId, 1, a.chunk(1))
        } finally {
          if (hadReportError) globalThis.reportError = original
          else delete (globalThis as { reportError?: unknown }).reportError
          errors.mockRestore()
        }
        expect(first).toEqual([0])
        expect(second).toEqual([0, 1])
        expect(reported).toHaveBeenCalledTimes(2)
        expect([...(await store.have(a.contentId))!.indices()]).toEqual([0, 1])
      })

      it('may listen to a content before the store knows it', async () => {
        const c = await makeContent({ chunks: 1, seed: 4 })
        const told: number[] = []
        store.onChunk(c.contentId, index => { told.push(index) })
        await store.putManifest(c.manifest)
        await store.putChunk(c.contentId, 0, c.chunk(0))
        expect(told).toEqual([0])
      })
    })

    describe('deleteContent', () => {
      it('forgets the manifest and every chunk', async () => {
        await store.putManifest(a.manifest)
        await store.putChunk(a.contentId, 0, a.chunk(0))
        await store.deleteContent(a.contentId)
        expect(await store.listContents()).toEqual([])
        expect(await store.getManifest(a.contentId)).toBeUndefined()
        expect(await store.have(a.contentId)).toBeUndefined()
        expect(await store.getChunk(a.contentId, 0)).toBeUndefined()
        expect(await rejectionName(store.putChunk(a.contentId, 1, a.chunk(1)))).toBe('UnknownContentError')
      })

      it('forgets a complete content', async () => {
        await store.putManifest(a.manifest)
        await putAll(a)
        await store.deleteContent(a.contentId)
        expect(await store.listContents()).toEqual([])
        expect(await store.getChunk(a.contentId, 3)).toBeUndefined()
      })

      it('is quiet for an unknown content, and a content put again starts empty', async () => {
        await store.deleteContent(b.contentId)
        await store.putManifest(a.manifest)
        await store.putChunk(a.contentId, 2, a.chunk(2))
        await store.deleteContent(a.contentId)
        await store.putManifest(a.manifest)
        expect((await store.have(a.contentId))!.count()).toBe(0)
        expect(await store.getChunk(a.contentId, 2)).toBeUndefined()
        await store.putChunk(a.contentId, 2, a.chunk(2))
        expectBytes(await store.getChunk(a.contentId, 2), a.chunk(2))
      })
    })

    it('two contents are independent', async () => {
      await store.putManifest(a.manifest)
      await store.putManifest(b.manifest)
      await store.putChunk(a.contentId, 0, a.chunk(0))
      await store.putChunk(b.contentId, 1, b.chunk(1))
      expect(await rejectionName(store.putChunk(b.contentId, 0, a.chunk(0)))).toBe('ChunkHashMismatchError')
      expect([...(await store.have(a.contentId))!.indices()]).toEqual([0])
      expect([...(await store.have(b.contentId))!.indices()]).toEqual([1])
      await store.deleteContent(a.contentId)
      expect(await store.listContents()).toEqual([b.contentId])
      expectBytes(await store.getChunk(b.contentId, 1), b.chunk(1))
      expect(await store.getManifest(b.contentId)).toEqual(b.manifest)
    })

    it('holds a content in real 256 KiB chunks', async () => {
      const big = await makeContent({ chunks: 2.5, chunkSize: CHUNK_SIZE, seed: 3 })
      expect(big.manifest.chunkSize).toBe(CHUNK_SIZE)
      await store.putManifest(big.manifest)
      await Promise.all([2, 0, 1].map(async i => { await store.putChunk(big.contentId, i, big.chunk(i)) }))
      expect((await store.getChunk(big.contentId, 2))?.byteLength).toBe(CHUNK_SIZE / 2)
      const parts: Uint8Array[] = []
      for (let i = 0; i < big.count; i++) parts.push((await store.getChunk(big.contentId, i))!)
      expectBytes(Buffer.concat(parts), big.bytes)
    })

    it('have() is exactly the set of chunks put, whatever the subset and order', async () => {
      await fc.assert(fc.asyncProperty(
        fc.shuffledSubarray([0, 1, 2, 3]),
        async (indices) => {
          await store.deleteContent(a.contentId)
          await store.putManifest(a.manifest)
          for (const i of indices) await store.putChunk(a.contentId, i, a.chunk(i))
          const have = (await store.have(a.contentId))!
          expect([...have.indices()]).toEqual([...indices].sort((x, y) => x - y))
          for (let i = 0; i < a.count; i++) {
            expectBytes(await store.getChunk(a.contentId, i), indices.includes(i) ? a.chunk(i) : undefined)
          }
        }
      ), { numRuns: 20 })
    })
  })
}
