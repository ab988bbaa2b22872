/**
 * IdbChunkStore. The ChunkStore compliance suite runs here on fake-indexeddb
 * (an IndexedDB in Node), with a fresh database per test; the end-to-end tests
 * run it again in a real Chromium. Then what only this store does: the size
 * cap with LRU eviction, usage, keep, reopening, two connections on one
 * database, versionchange, quota errors, what a chunk writes (no manifest).
 * The schema's upgrade from version 1 is tested in schema.test.ts.
 */
import 'fake-indexeddb/auto'
import { serialize } from 'node:v8'
import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CHUNK_SIZE } from '@core/content/constants'
import type { Manifest } from '@core/content/manifest'
import { IdbChunkStore, type IdbChunkStoreInit } from '../../../../web/peer/store/idb-store'
import { QuotaExceededError, StoreFullError } from '../../../../web/peer/store/errors'
import { DB_VERSION } from '../../../../web/peer/store/schema'
import { chunkStoreCompliance, expectBytes, makeContent, rejectionName, type Content } from '../../../core/store/compliance'

const KiB = 1024
let databases = 0

/** A database name no other test uses. */
function freshName (): string {
  return `pipbingo-test-${process.pid}-${++databases}`
}

chunkStoreCompliance('IdbChunkStore (fake-indexeddb)', async () => {
  const name = freshName()
  const store = await IdbChunkStore.open({ name })
  return {
    store,
    cleanup: async () => {
      await store.close()
      await deleteDB(name)
    }
  }
})

describe('IdbChunkStore', () => {
  const opened: IdbChunkStore[] = []
  const names: string[] = []

  afterEach(async () => {
    vi.restoreAllMocks()
    vi.unstubAllGlobals()
    for (const store of opened.splice(0)) await store.close()
    for (const name of names.splice(0)) await deleteDB(name)
  })

  async function open (init: Partial<IdbChunkStoreInit> = {}): Promise<IdbChunkStore> {
    const name = init.name ?? freshName()
    if (!names.includes(name)) names.push(name)
    const store = await IdbChunkStore.open({ ...init, name })
    opened.push(store)
    return store
  }

  async function putAll (store: IdbChunkStore, content: Content, indices?: number[]): Promise<void> {
    await store.putManifest(content.manifest)
    for (const i of indices ?? [...Array(content.count).keys()]) await store.putChunk(content.contentId, i, content.chunk(i))
  }

  /** Three contents of two 16 KiB chunks each. */
  async function threeContents (): Promise<[Content, Content, Content]> {
    return await Promise.all([1, 2, 3].map(async seed => await makeContent({ chunks: 2, seed: 10 + seed }))) as [Content, Content, Content]
  }

  describe('the size cap', () => {
    it('evicts the least recently used whole content, and says so', async () => {
      const [a, b, c] = await threeContents()
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, onEvicted: id => evicted.push(id) })
      await putAll(store, a)
      await putAll(store, b)
      expect(evicted).toEqual([])
      await putAll(store, c, [0])
      expect(evicted).toEqual([a.contentId])
      expect((await store.listContents()).sort()).toEqual([b.contentId, c.contentId].sort())
      expect(await store.getChunk(a.contentId, 0)).toBeUndefined()
      expect(await store.getChunk(a.contentId, 1)).toBeUndefined()
      expect((await store.usage()).bytes).toBe(48 * KiB)
      await putAll(store, c, [1])
      expect(evicted).toEqual([a.contentId]) // 64 KiB: at the cap, not over it
    })

    it('touch() moves a content to the back of the line', async () => {
      const [a, b, c] = await threeContents()
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, onEvicted: id => evicted.push(id) })
      await putAll(store, a)
      await putAll(store, b)
      await store.touch(a.contentId)
      await store.touch('f'.repeat(64)) // unknown: quiet
      await putAll(store, c, [0])
      expect(evicted).toEqual([b.contentId])
    })

    it('writing a chunk counts as a use', async () => {
      const [a, b, c] = await threeContents()
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, onEvicted: id => evicted.push(id) })
      await putAll(store, a, [0])
      await putAll(store, b)
      await store.putChunk(a.contentId, 1, a.chunk(1))
      await putAll(store, c, [0])
      expect(evicted).toEqual([b.contentId])
    })

    it('never evicts a pinned content, nor a kept one', async () => {
      const [a, b, c] = await threeContents()
      const d = await makeContent({ chunks: 2, seed: 14 })
      const evicted: string[] = []
      const store = await open({ capBytes: 96 * KiB, pinned: () => new Set([a.contentId]), onEvicted: id => evicted.push(id) })
      await putAll(store, a)
      await putAll(store, b)
      await putAll(store, c)
      await store.setKeep(b.contentId, true)
      await putAll(store, d, [0])
      expect(evicted).toEqual([c.contentId])
      expect((await store.listContents()).sort()).toEqual([a.contentId, b.contentId, d.contentId].sort())
    })

    it('evicts as many contents as needed, oldest first, and no more', async () => {
      const [a, b] = await Promise.all([1, 2].map(async seed => await makeContent({ chunks: 1, seed: 20 + seed })))
      const [c, d] = await Promise.all([3, 4].map(async seed => await makeContent({ chunks: 2, seed: 20 + seed })))
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, onEvicted: id => evicted.push(id) })
      for (const content of [a!, b!, c!]) await putAll(store, content)
      await putAll(store, d!, [0])
      expect(evicted).toEqual([a!.contentId])
      await putAll(store, d!, [1])
      expect(evicted).toEqual([a!.contentId, b!.contentId])
      expect((await store.have(c!.contentId))!.isComplete()).toBe(true)
    })

    it('throws StoreFullError when nothing can go, and changes nothing', async () => {
      const [a, b, c] = await threeContents()
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, pinned: () => new Set([a.contentId]), onEvicted: id => evicted.push(id) })
      await putAll(store, a)
      await putAll(store, b)
      await store.setKeep(b.contentId, true)
      await store.putManifest(c.manifest)
      const err = await store.putChunk(c.contentId, 0, c.chunk(0)).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreFullError)
      expect((err as Error).name).toBe('StoreFullError')
      expect((err as Error).message).toBe('The video cache is full (0.06 MB of 0.06 MB): remove a video or raise the cache size')
      expect(evicted).toEqual([])
      expect((await store.usage()).bytes).toBe(64 * KiB)
      expect((await store.have(c.contentId))!.count()).toBe(0)
      expect((await store.have(b.contentId))!.isComplete()).toBe(true)

      await store.setKeep(b.contentId, false)
      await store.putChunk(c.contentId, 0, c.chunk(0))
      expect(evicted).toEqual([b.contentId])
    })

    it('never evicts the content being written for itself', async () => {
      const big = await makeContent({ chunks: 3, seed: 30 })
      const store = await open({ capBytes: 32 * KiB })
      await putAll(store, big, [0, 1])
      expect(await rejectionName(store.putChunk(big.contentId, 2, big.chunk(2)))).toBe('StoreFullError')
      expect([...(await store.have(big.contentId))!.indices()]).toEqual([0, 1])
    })

    it('a lower cap evicts at once, a higher one makes room', async () => {
      const [a, b, c] = await threeContents()
      const evicted: string[] = []
      const store = await open({ capBytes: 64 * KiB, onEvicted: id => evicted.push(id) })
      await putAll(store, a)
      await putAll(store, b)
      await store.setCap(40 * KiB)
      expect(store.capBytes).toBe(40 * KiB)
      expect(evicted).toEqual([a.contentId])
      expect((await store.usage()).bytes).toBe(32 * KiB)
      await store.setCap(96 * KiB)
      await putAll(store, c)
      await putAll(store, a)
      expect(evicted).toEqual([a.contentId])
      expect(await rejectionName(store.setCap(-1))).toBe('RangeError')
    })

    it('a failing onEvicted does not fail the write', async () => {
      const [a, b, c] = await threeContents()
      const reported = vi.fn()
      vi.stubGlobal('reportError', reported)
      const store = await open({ capBytes: 64 * KiB, onEvicted: () => { throw new Error('listener bug') } })
      await putAll(store, a)
      await putAll(store, b)
      await putAll(store, c, [0])
      expect(reported).toHaveBeenCalledOnce()
      expect((await store.have(c.contentId))!.has(0)).toBe(true)
    })
  })

  it('usage() counts exactly, most recently used first', async () => {
    const a = await makeContent({ chunks: 3.5, seed: 40, name: 'a film.mp4' })
    const b = await makeContent({ chunks: 2.25, seed: 41, name: 'b film.webm' })
    const store = await open()
    expect(await store.usage()).toEqual({ bytes: 0, contents: [] })
    await putAll(store, a, [0, 3])
    await putAll(store, b)
    await store.setKeep(a.contentId, true)
    await store.touch(a.contentId)
    const usage = await store.usage()
    expect(usage.bytes).toBe(16 * KiB + 8 * KiB + b.bytes.byteLength)
    expect(usage.contents.map(({ lastUsed: _, ...rest }) => rest)).toEqual([
      { contentId: a.contentId, name: 'a film.mp4', bytes: 24 * KiB, chunks: 2, complete: false, keep: true },
      { contentId: b.contentId, name: 'b film.webm', bytes: 36 * KiB, chunks: 3, complete: true, keep: false }
    ])
    expect(usage.contents[0]!.lastUsed).toBeGreaterThan(usage.contents[1]!.lastUsed)
    await store.deleteContent(a.contentId)
    expect((await store.usage()).bytes).toBe(b.bytes.byteLength)
    expect(await rejectionName(store.setKeep(a.contentId, true))).toBe('UnknownContentError')
  })

  it('a reopened store sees everything', async () => {
    const a = await makeContent({ chunks: 3.5, seed: 50 })
    const name = freshName()
    const first = await open({ name })
    await putAll(first, a, [1, 3])
    await first.setKeep(a.contentId, true)
    const before = await first.usage()
    await first.close()
    expect(await rejectionName(first.getChunk(a.contentId, 1))).toBe('StoreClosedError')

    const again = await open({ name })
    expect(await again.listContents()).toEqual([a.contentId])
    expect(await again.getManifest(a.contentId)).toEqual(a.manifest)
    expect([...(await again.have(a.contentId))!.indices()]).toEqual([1, 3])
    expectBytes(await again.getChunk(a.contentId, 3), a.chunk(3))
    expect(await again.usage()).toEqual(before)
  })

  it('two stores open on one database see each other\'s writes', async () => {
    const [a, b] = await threeContents()
    const name = freshName()
    const tab = await open({ name })
    const worker = await open({ name })
    await putAll(tab, a, [0])
    expectBytes(await worker.getChunk(a.contentId, 0), a.chunk(0))
    await Promise.all([tab.putChunk(a.contentId, 1, a.chunk(1)), worker.putManifest(b.manifest)])
    await Promise.all([worker.putChunk(b.contentId, 0, b.chunk(0)), tab.putChunk(b.contentId, 1, b.chunk(1)), worker.putChunk(b.contentId, 1, b.chunk(1))])
    for (const store of [tab, worker]) {
      expect((await store.have(a.contentId))!.isComplete()).toBe(true)
      expect((await store.have(b.contentId))!.isComplete()).toBe(true)
      expect((await store.usage()).bytes).toBe(64 * KiB)
    }
    await worker.deleteContent(a.contentId)
    expect(await rejectionName(tab.putChunk(a.contentId, 0, a.chunk(0)))).toBe('UnknownContentError')
  })

  it('closes itself when a newer version of the database is opened elsewhere', async () => {
    const a = await makeContent({ chunks: 1, seed: 60 })
    const name = freshName()
    const store = await open({ name })
    await putAll(store, a)
    const blocked = vi.fn()
    const newer = await openDB(name, DB_VERSION + 1, { blocked })
    newer.close()
    expect(blocked).not.toHaveBeenCalled()
    const err = await store.getChunk(a.contentId, 0).then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('StoreClosedError')
    expect(err?.message).toMatch(/newer version .* reload/)
  })

  it('turns an IndexedDB QuotaExceededError into ours, and stays usable', async () => {
    const a = await makeContent({ chunks: 2, seed: 70 })
    const store = await open()
    await store.putManifest(a.manifest)
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(function (this: IDBObjectStore) {
      expect(this.name).toBe('chunks')
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    })
    const err = await store.putChunk(a.contentId, 0, a.chunk(0)).catch((e: unknown) => e as Error)
    expect(err).toBeInstanceOf(QuotaExceededError)
    expect(err?.name).toBe('QuotaExceededError')
    expect(err?.message).toMatch(/no more room .* free some disk space/)
    expect((err?.cause as DOMException).name).toBe('QuotaExceededError')
    expect((await store.have(a.contentId))!.count()).toBe(0)
    expect((await store.usage()).bytes).toBe(0)

    // the spy answered once; the next put reaches IndexedDB
    await store.putChunk(a.contentId, 0, a.chunk(0))
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
  })

  it('stores the bytes it verified, even if the caller changes its buffer meanwhile', async () => {
    const a = await makeContent({ chunks: 1, seed: 90 })
    const store = await open()
    await store.putManifest(a.manifest)
    const given = a.chunk(0)
    const digest = crypto.subtle.digest.bind(crypto.subtle)
    vi.spyOn(crypto.subtle, 'digest').mockImplementationOnce(async (algorithm, data) => {
      const hash = await digest(algorithm, data)
      given.fill(0) // after the check, before the write
      return hash
    })
    await store.putChunk(a.contentId, 0, given)
    expect(crypto.subtle.digest).toHaveBeenCalledOnce()
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
  })

  describe('storing chunks: what is written, what is checked', () => {
    /** Every value put into an object store while `body` runs, with its structured-clone size. */
    async function recordPuts (body: () => Promise<void>): Promise<Array<{ store: string, value: unknown, bytes: number }>> {
      const puts: Array<{ store: string, value: unknown, bytes: number }> = []
      for (const method of ['put', 'add'] as const) {
        const original = IDBObjectStore.prototype[method]
        vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
          puts.push({ store: this.name, value, bytes: serialize(value).byteLength })
          return original.call(this, value, key)
        })
      }
      await body()
      vi.restoreAllMocks()
      return puts
    }

    /** A 1 GB video (4096 chunks of 256 KiB, a ~270 kB manifest) of which only the first `real.count` chunks exist. */
    async function oneGigabyteVideo (): Promise<{ real: Content, manifest: Manifest }> {
      const real = await makeContent({ chunks: 8, chunkSize: CHUNK_SIZE, seed: 100 })
      const count = 4096
      const filler = Array.from({ length: count - real.count }, (_, i) => i.toString(16).padStart(64, 'f'))
      return { real, manifest: { ...real.manifest, size: count * CHUNK_SIZE, hashes: [...real.manifest.hashes, ...filler] } }
    }

    it('the manifest is written once; a chunk rewrites only the small record (no write amplification)', async () => {
      const { real, manifest } = await oneGigabyteVideo()
      const store = await open()
      const manifestBytes = serialize(manifest).byteLength
      expect(manifestBytes).toBeGreaterThan(250_000) // what version 1 rewrote with every chunk

      let contentId = ''
      const onManifest = await recordPuts(async () => { contentId = await store.putManifest(manifest) })
      expect(onManifest.map(p => p.store).sort()).toEqual(['contents', 'manifests'])
      expect(onManifest.find(p => p.store === 'contents')!.bytes).toBeLessThan(1024)

      const onChunks = await recordPuts(async () => {
        for (let i = 0; i < real.count; i++) await store.putChunk(contentId, i, real.chunk(i))
      })
      const into = (name: string): typeof onChunks => onChunks.filter(p => p.store === name)
      expect(into('manifests')).toEqual([])
      expect(into('chunks')).toHaveLength(real.count)
      const records = into('contents')
      expect(records).toHaveLength(real.count)
      for (const { value } of records) {
        expect(Object.keys(value as object).sort()).toEqual(['bytes', 'chunkCount', 'contentId', 'have', 'lastUsed', 'name'])
      }
      // each record: the 512-byte have-bitfield and a few small fields
      const haveBytes = 4096 / 8
      for (const { bytes } of records) expect(bytes).toBeLessThan(haveBytes + 256)
      const total = records.reduce((sum, p) => sum + p.bytes, 0)
      expect(total).toBeLessThan(real.count * (haveBytes + 256))
      expect(total).toBeLessThan(manifestBytes / 50)

      expect([...(await store.have(contentId))!.indices()]).toEqual([...Array(real.count).keys()])
      expect(await store.getManifest(contentId)).toEqual(manifest)
    })

    it('verifies from memory: a manifest is read back at most once while it stays cached', async () => {
      const a = await makeContent({ chunks: 3, seed: 101 })
      const name = freshName()
      const first = await open({ name })
      await first.putManifest(a.manifest)
      const get = vi.spyOn(IDBObjectStore.prototype, 'get')
      const manifestReads = (): number => get.mock.contexts.filter(store => (store as IDBObjectStore).name === 'manifests').length
      await first.putChunk(a.contentId, 0, a.chunk(0))
      expect(manifestReads()).toBe(0) // putManifest left it in memory

      const second = await open({ name }) // another connection: nothing cached
      await second.putChunk(a.contentId, 1, a.chunk(1))
      await second.putChunk(a.contentId, 2, a.chunk(2))
      expect(manifestReads()).toBe(1)
      expect((await first.have(a.contentId))!.isComplete()).toBe(true)
    })

    it('verifies against the manifest as it was put, whatever the caller does with it afterwards', async () => {
      const a = await makeContent({ chunks: 2, seed: 102 })
      const store = await open()
      const given = structuredClone(a.manifest)
      await store.putManifest(given)
      given.hashes[1] = given.hashes[0]!
      expect(await rejectionName(store.putChunk(a.contentId, 1, a.chunk(0)))).toBe('ChunkHashMismatchError')
      await store.putChunk(a.contentId, 1, a.chunk(1))
      expect(await store.getManifest(a.contentId)).toEqual(a.manifest)
    })
  })

  it('refuses everything once closed; close() twice is fine', async () => {
    const a = await makeContent({ chunks: 1, seed: 80 })
    const store = await open()
    await store.close()
    await store.close()
    expect(await rejectionName(store.putManifest(a.manifest))).toBe('StoreClosedError')
    expect(await rejectionName(store.listContents())).toBe('StoreClosedError')
    expect(await rejectionName(store.usage())).toBe('StoreClosedError')
  })

  it('honours an aborted signal', async () => {
    const store = await open()
    const signal = AbortSignal.abort()
    expect(await rejectionName(store.listContents({ signal }))).toBe('AbortError')
    expect(await rejectionName(IdbChunkStore.open({ name: freshName() }, { signal }))).toBe('AbortError')
  })

  describe('persist()', () => {
    it('is false without the Storage API', async () => {
      vi.stubGlobal('navigator', {})
      expect(await IdbChunkStore.persist()).toBe(false)
    })

    it('asks navigator.storage.persist() and returns its answer', async () => {
      const persist = vi.fn(async () => true)
      vi.stubGlobal('navigator', { storage: { persist } })
      expect(await IdbChunkStore.persist()).toBe(true)
      expect(persist).toHaveBeenCalledOnce()
      persist.mockResolvedValueOnce(false)
      expect(await IdbChunkStore.persist()).toBe(false)
    })

    it('in a worker (no persist()), says whether storage is persistent', async () => {
      vi.stubGlobal('navigator', { storage: { persisted: async () => true } })
      expect(await IdbChunkStore.persist()).toBe(true)
    })

    it('is false when the browser throws', async () => {
      vi.stubGlobal('navigator', { storage: { persist: async () => { throw new Error('nope') } } })
      expect(await IdbChunkStore.persist()).toBe(false)
    })
  })
})
