/**
 * The schema's upgrades. A version 1 database is written here by hand, with
 * raw IndexedDB (fake-indexeddb), exactly as version 1 laid it out:
 *
 *   contents  keyPath 'contentId'
 *             { contentId, manifest, have: Uint8Array, bytes: number, lastUsed: number, keep?: true }
 *             index 'lru' on [lastUsed, bytes]
 *   chunks    out-of-line key [contentId, index] → Uint8Array
 *
 * then opened with IdbChunkStore, which must find everything in it.
 */
import 'fake-indexeddb/auto'
import { deleteDB, openDB } from 'idb'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IdbChunkStore } from '../../../../web/peer/store/idb-store'
import { DB_VERSION, type ContentRecordV1 } from '../../../../web/peer/store/schema'
import { expectBytes, makeContent, rejectionName, type Content } from '../../../core/store/compliance'

const KiB = 1024
let databases = 0

async function request<T> (req: IDBRequest<T>): Promise<T> {
  return await new Promise((resolve, reject) => {
    req.onsuccess = () => { resolve(req.result) }
    req.onerror = () => { reject(req.error) }
  })
}

/** A version 1 database holding `records` and `chunks`, written with raw IndexedDB. */
async function createVersion1 (name: string, records: unknown[], chunks: Array<[[string, number], Uint8Array]>): Promise<void> {
  const open = indexedDB.open(name, 1)
  open.onupgradeneeded = () => {
    const db = open.result
    const contents = db.createObjectStore('contents', { keyPath: 'contentId' })
    contents.createIndex('lru', ['lastUsed', 'bytes'])
    const chunkStore = db.createObjectStore('chunks')
    for (const record of records) contents.add(record)
    for (const [key, bytes] of chunks) chunkStore.add(bytes, key)
  }
  const db = await request(open)
  db.close()
}

/** Everything in the database, read without IdbChunkStore. */
async function dump (name: string): Promise<{ version: number, stores: string[], contents: unknown[], manifests: Map<unknown, unknown>, chunkKeys: unknown[] }> {
  const db = await openDB(name)
  try {
    const stores = [...db.objectStoreNames].sort()
    const manifests = new Map()
    if (stores.includes('manifests')) {
      for (let cursor = await db.transaction('manifests').store.openCursor(); cursor != null; cursor = await cursor.continue()) {
        manifests.set(cursor.key, cursor.value)
      }
    }
    return { version: db.version, stores, contents: await db.getAll('contents'), manifests, chunkKeys: await db.getAllKeys('chunks') }
  } finally {
    db.close()
  }
}

describe('schema version 2: upgrading a version 1 database', () => {
  let name: string
  let a: Content
  let b: Content
  let version1: ContentRecordV1[]
  const opened: IdbChunkStore[] = []

  beforeEach(async () => {
    name = `pipbingo-schema-test-${process.pid}-${++databases}`
    a = await makeContent({ chunks: 3.5, seed: 200, name: 'a film.mp4' })
    b = await makeContent({ chunks: 2, seed: 201, name: 'b film.webm' })
    version1 = [
      // chunks 0 and 3 of four (0x80 | 0x10), kept for offline
      { contentId: a.contentId, manifest: a.manifest, have: Uint8Array.of(0b1001_0000), bytes: 24 * KiB, lastUsed: 1_000, keep: true },
      { contentId: b.contentId, manifest: b.manifest, have: Uint8Array.of(0), bytes: 0, lastUsed: 2_000 }
    ]
  })

  afterEach(async () => {
    vi.restoreAllMocks()
    for (const store of opened.splice(0)) await store.close()
    await deleteDB(name)
  })

  async function open (): Promise<IdbChunkStore> {
    const store = await IdbChunkStore.open({ name })
    opened.push(store)
    return store
  }

  const version1Chunks = (): Array<[[string, number], Uint8Array]> => [[[a.contentId, 0], a.chunk(0)], [[a.contentId, 3], a.chunk(3)]]

  it('moves every manifest out of its record and keeps chunks, have-bits, sizes, uses and keeps', async () => {
    await createVersion1(name, version1, version1Chunks())
    const store = await open()

    expect([...await store.listContents()].sort()).toEqual([a.contentId, b.contentId].sort())
    expect(await store.getManifest(a.contentId)).toEqual(a.manifest)
    expect(await store.getManifest(b.contentId)).toEqual(b.manifest)
    expect([...(await store.have(a.contentId))!.indices()]).toEqual([0, 3])
    expect((await store.have(b.contentId))!.count()).toBe(0)
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
    expectBytes(await store.getChunk(a.contentId, 3), a.chunk(3))
    expect(await store.usage()).toEqual({
      bytes: 24 * KiB,
      contents: [
        { contentId: b.contentId, name: 'b film.webm', bytes: 0, chunks: 0, complete: false, lastUsed: 2_000, keep: false },
        { contentId: a.contentId, name: 'a film.mp4', bytes: 24 * KiB, chunks: 2, complete: false, lastUsed: 1_000, keep: true }
      ]
    })

    const after = await dump(name)
    expect(after.version).toBe(DB_VERSION)
    expect(after.stores).toEqual(['chunks', 'contents', 'manifests'])
    expect(after.contents).toEqual([
      { contentId: a.contentId, name: 'a film.mp4', chunkCount: 4, have: Uint8Array.of(0b1001_0000), bytes: 24 * KiB, lastUsed: 1_000, keep: true },
      { contentId: b.contentId, name: 'b film.webm', chunkCount: 2, have: Uint8Array.of(0), bytes: 0, lastUsed: 2_000 }
    ].sort((x, y) => x.contentId < y.contentId ? -1 : 1))
    expect(after.manifests).toEqual(new Map([[a.contentId, a.manifest], [b.contentId, b.manifest]]))
    expect(after.chunkKeys).toHaveLength(2)
  })

  it('the upgraded store verifies, stores, evicts and deletes with the moved manifests', async () => {
    await createVersion1(name, version1, version1Chunks())
    const store = await open()
    expect(await rejectionName(store.putChunk(a.contentId, 1, a.chunk(2)))).toBe('ChunkHashMismatchError')
    await store.putChunk(a.contentId, 1, a.chunk(1))
    await store.putChunk(a.contentId, 2, a.chunk(2))
    expect((await store.have(a.contentId))!.isComplete()).toBe(true)

    await store.putChunk(b.contentId, 0, b.chunk(0))
    await store.setKeep(a.contentId, false)
    await store.setCap(16 * KiB) // a (56 KiB) is the least recently used: it goes, manifest and all
    expect(await store.listContents()).toEqual([b.contentId])
    expect(await store.getManifest(a.contentId)).toBeUndefined()
    await store.deleteContent(b.contentId)
    const after = await dump(name)
    expect(after.contents).toEqual([])
    expect(after.manifests.size).toBe(0)
    expect(after.chunkKeys).toEqual([])
  })

  it('drops a record that has no usable manifest, with its chunks, and keeps the rest', async () => {
    const broken = { contentId: 'e'.repeat(64), have: Uint8Array.of(0x80), bytes: 4, lastUsed: 500 }
    await createVersion1(name, [...version1, broken], [...version1Chunks(), [[broken.contentId, 0], Uint8Array.of(1, 2, 3, 4)]])
    const store = await open()
    expect([...await store.listContents()].sort()).toEqual([a.contentId, b.contentId].sort())
    expect(await store.have(broken.contentId)).toBeUndefined()
    expect((await store.usage()).bytes).toBe(24 * KiB)
    expect((await dump(name)).chunkKeys).toHaveLength(2)
  })

  it('an upgrade that fails midway changes nothing, and the next open upgrades', async () => {
    await createVersion1(name, version1, version1Chunks())
    const update = IDBCursor.prototype.update
    let updates = 0
    vi.spyOn(IDBCursor.prototype, 'update').mockImplementation(function (this: IDBCursor, value: unknown) {
      // the first record is moved; the second fails as a full disk would
      if (++updates === 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      return update.call(this, value)
    })
    const err = await IdbChunkStore.open({ name }).then(() => undefined, (e: unknown) => e as Error)
    expect(err?.name).toBe('QuotaExceededError')
    expect(updates).toBe(2)

    const untouched = await dump(name)
    expect(untouched.version).toBe(1)
    expect(untouched.stores).toEqual(['chunks', 'contents'])
    expect(untouched.contents).toEqual([...version1].sort((x, y) => x.contentId < y.contentId ? -1 : 1))
    expect(untouched.chunkKeys).toHaveLength(2)

    vi.restoreAllMocks()
    const store = await open()
    expect(await store.getManifest(a.contentId)).toEqual(a.manifest)
    expect([...(await store.have(a.contentId))!.indices()]).toEqual([0, 3])
  })

  it('a new database starts at the current version, empty', async () => {
    const store = await open()
    expect(await store.listContents()).toEqual([])
    const fresh = await dump(name)
    expect(fresh.version).toBe(DB_VERSION)
    expect(fresh.stores).toEqual(['chunks', 'contents', 'manifests'])
  })
})
