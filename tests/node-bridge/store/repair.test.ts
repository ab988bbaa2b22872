import { open as openFile, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FsChunkStore, type DamageEvent, type FsChunkStoreInit } from '../../../node-bridge/store/index'
import { expectBytes, makeContent, type Content } from '../../core/store/compliance'
import { KIB16, tempRoot, tree } from './helpers'

/** Counts the SHA-256 hashes node:crypto makes (the real function runs): what the store's reads hash. */
const hashes = vi.hoisted(() => ({ count: 0 }))
vi.mock('node:crypto', async importOriginal => {
  const real = await importOriginal<typeof import('node:crypto')>()
  const createHash: typeof real.createHash = (algorithm, options) => {
    if (algorithm === 'sha256') hashes.count++
    return real.createHash(algorithm, options)
  }
  return { ...real, default: { ...real, createHash }, createHash }
})

/** Flip the byte at `at` of `path` in place; with `keepTimes`, put its atime and mtime back. */
async function flip (path: string, at: number, keepTimes: boolean): Promise<void> {
  const { atime, mtime } = await stat(path)
  const file = await openFile(path, 'r+')
  const one = new Uint8Array(1)
  await file.read(one, 0, 1, at)
  await file.write(new Uint8Array([one[0]! ^ 0xff]), 0, 1, at)
  await file.close()
  if (keepTimes) await utimes(path, atime, mtime)
}

describe('FsChunkStore: what it reads back is verified, and a damaged file is repaired (repair: true)', () => {
  let root: string
  let dir: string
  let a: Content
  const opened: FsChunkStore[] = []
  const damaged: DamageEvent[] = []

  async function openStore (options: Partial<FsChunkStoreInit> = {}): Promise<FsChunkStore> {
    const store = await FsChunkStore.open({ dir, chunkSize: KIB16, repair: true, onDamaged: e => { damaged.push(e) }, ...options })
    opened.push(store)
    return store
  }

  beforeEach(async () => {
    damaged.length = 0
    root = await tempRoot()
    dir = join(root, 'store')
    a = await makeContent({ chunks: 4.5, seed: 21, name: 'movie.mp4' })
    await (await FsChunkStore.open({ dir, chunkSize: KIB16 })).close() // creates the folder
    await writeFile(join(dir, 'movie.mp4'), a.bytes)
  })
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
    await rm(root, { recursive: true, force: true })
  })

  it('hashes a chunk at its first read, not again while the file is unchanged, and again after any change', async () => {
    const store = await openStore()
    const reads = async (): Promise<number> => {
      hashes.count = 0
      for (let i = 0; i < a.count; i++) expectBytes(await store.getChunk(a.contentId, i), a.chunk(i))
      return hashes.count
    }
    expect(await reads()).toBe(a.count)
    expect(await reads()).toBe(0)
    // only touched (same bytes, new ctime): checked again, and still served
    const { atime, mtime } = await stat(join(dir, 'movie.mp4'))
    await utimes(join(dir, 'movie.mp4'), atime, mtime)
    expect(await reads()).toBe(a.count)
    expect(damaged).toEqual([])
  })

  it('verifyReads: false reads without hashing (the bench\'s baseline)', async () => {
    const store = await openStore({ verifyReads: false })
    hashes.count = 0
    for (let i = 0; i < a.count; i++) expectBytes(await store.getChunk(a.contentId, i), a.chunk(i))
    expect(hashes.count).toBe(0)
  })

  it('a chunk changed with the mtime kept: refused, dropped from have() at once, the file made a partial holding the rest', async () => {
    const store = await openStore()
    for (let i = 0; i < a.count; i++) await store.getChunk(a.contentId, i) // all verified and remembered
    await flip(join(dir, 'movie.mp4'), 2 * KIB16 + 7, true)
    expect(await store.getChunk(a.contentId, 2)).toBeUndefined()
    expect((await store.have(a.contentId))!.has(2)).toBe(false)
    await store.repaired(a.contentId)
    expect(damaged).toEqual([{ contentId: a.contentId, filename: 'movie.mp4', cause: 'read', lost: [2], kept: a.count - 1 }])
    expect(store.isComplete(a.contentId)).toBe(false)
    expect(store.contentIdOf('movie.mp4')).toBe(a.contentId)
    expect(await tree(dir)).toEqual(expect.arrayContaining(['movie.mp4.part', `.pipbingo/state/${a.contentId}.bitfield`]))
    expect(await tree(dir)).not.toContain('movie.mp4')
    expect([...(await store.have(a.contentId))!.indices()]).toEqual([0, 1, 3, 4])
    expectBytes(await store.getChunk(a.contentId, 3), a.chunk(3))
    // the chunk fetched again completes the file under its name
    await store.putChunk(a.contentId, 2, a.chunk(2))
    expect(store.isComplete(a.contentId)).toBe(true)
    expectBytes(await readFile(join(dir, 'movie.mp4')), a.bytes)
  })

  it('a file changed while the store was closed (mtime moved, size too) is checked against its manifest: same content, good chunks kept', async () => {
    await (await openStore()).close()
    await flip(join(dir, 'movie.mp4'), 5, false)
    const grown = await openFile(join(dir, 'movie.mp4'), 'a')
    await grown.write(new Uint8Array(100)) // longer than its manifest now
    await grown.close()
    const later = new Date(Date.now() + 5000)
    await utimes(join(dir, 'movie.mp4'), later, later)

    const store = await openStore()
    expect(await store.listContents()).toEqual([a.contentId])
    expect(damaged).toEqual([{ contentId: a.contentId, filename: 'movie.mp4', cause: 'changed', lost: [0], kept: a.count - 1 }])
    expect(store.isComplete(a.contentId)).toBe(false)
    expect((await stat(join(dir, 'movie.mp4.part'))).size).toBe(a.bytes.byteLength)
    await store.putChunk(a.contentId, 0, a.chunk(0))
    expectBytes(await readFile(join(dir, 'movie.mp4')), a.bytes)
    await store.close()
    // and the next open knows it unchanged
    damaged.length = 0
    const again = await openStore()
    expect(again.isComplete(a.contentId)).toBe(true)
    expect(damaged).toEqual([])
  })

  it('a file only touched while the store was closed stays complete, nothing re-fetched', async () => {
    await (await openStore()).close()
    const later = new Date(Date.now() + 5000)
    await utimes(join(dir, 'movie.mp4'), later, later)
    const store = await openStore()
    expect(store.isComplete(a.contentId)).toBe(true)
    expect(damaged).toEqual([])
  })

  it('without repair (the relay\'s library), a damaged chunk is refused and the file stays as it is', async () => {
    const store = await openStore({ repair: false })
    await flip(join(dir, 'movie.mp4'), 7, true)
    expect(await store.getChunk(a.contentId, 0)).toBeUndefined()
    await store.repaired(a.contentId)
    expect(store.isComplete(a.contentId)).toBe(true)
    expect(damaged).toEqual([])
  })
})
