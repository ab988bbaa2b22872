import { mkdir, open as openFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import type { CorruptionEvent, FsChunkStore } from '../../../node-bridge/store/index'
import { expectBytes, makeContent, type Content } from '../../core/store/compliance'
import { KIB16, linux, openFiles, tree, useStoreFolder } from './helpers'

describe.skipIf(!linux)('ReadHandles and the .part handle (through FsChunkStore): open files', () => {
  const folder = useStoreFolder()
  let a: Content
  beforeEach(async () => {
    a = await makeContent({ chunks: 3.5, seed: 11, name: 'movie.mp4' })
  })

  async function putAll (store: FsChunkStore, content: Content): Promise<void> {
    await store.putManifest(content.manifest)
    await Promise.all(Array.from({ length: content.count }, async (_, i) => { await store.putChunk(content.contentId, i, content.chunk(i)) }))
  }

  it('one handle writes a whole download; it is closed when the download completes', async () => {
    const store = await folder.open()
    await store.putManifest(a.manifest)
    for (const i of [0, 1]) await store.putChunk(a.contentId, i, a.chunk(i))
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4.part'])
    for (const i of [2, 3]) await store.putChunk(a.contentId, i, a.chunk(i))
    expect(store.isComplete(a.contentId)).toBe(true)
    expect(await openFiles(folder.dir)).toEqual([])
    expectBytes(await store.getChunk(a.contentId, 2), a.chunk(2))
    expectBytes(await store.getChunk(a.contentId, 3), a.chunk(3))
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4']) // kept open for the next read
  })

  it('a file replaced on disk by a new inode is read from the new file, and the old one is closed', async () => {
    await mkdir(folder.dir, { recursive: true })
    await writeFile(join(folder.dir, 'movie.mp4'), a.bytes)
    const seen: CorruptionEvent[] = []
    const store = await folder.open({ onCorruption: e => seen.push(e) })
    expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4'])

    // the same bytes in a new file renamed over the name; then the old inode is damaged
    const old = await openFile(join(folder.dir, 'movie.mp4'), 'r+')
    await writeFile(join(folder.root, 'copy'), a.bytes)
    await rename(join(folder.root, 'copy'), join(folder.dir, 'movie.mp4'))
    await old.write(new Uint8Array(KIB16), 0, KIB16, KIB16)
    await old.close()
    expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
    expect(seen).toEqual([])
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4'])

    // other bytes in a new file under the name: refused
    const bad = a.bytes.slice()
    bad[2 * KIB16 + 3] = bad[2 * KIB16 + 3]! ^ 0x01
    await writeFile(join(folder.root, 'bad'), bad)
    await rename(join(folder.root, 'bad'), join(folder.dir, 'movie.mp4'))
    expect(await store.getChunk(a.contentId, 2)).toBeUndefined()
    expect(seen).toEqual([{ contentId: a.contentId, index: 2, path: join(folder.dir, 'movie.mp4') }])
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4'])
  })

  it('a file deleted by hand is not served, nor held open', async () => {
    await mkdir(folder.dir, { recursive: true })
    await writeFile(join(folder.dir, 'movie.mp4'), a.bytes)
    const store = await folder.open()
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
    await rm(join(folder.dir, 'movie.mp4'))
    expect(await store.getChunk(a.contentId, 0)).toBeUndefined()
    expect(await openFiles(folder.dir)).toEqual([])
  })

  it('deleting a content closes its files, with a read under way too', async () => {
    const b = await makeContent({ chunks: 2, seed: 21, name: 'other.mp4' })
    const store = await folder.open()
    await store.putManifest(a.manifest)
    for (const i of [0, 1]) await store.putChunk(a.contentId, i, a.chunk(i))
    await putAll(store, b)
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
    expectBytes(await store.getChunk(b.contentId, 0), b.chunk(0))
    expect(await openFiles(folder.dir)).toEqual(['movie.mp4.part', 'movie.mp4.part', 'other.mp4']) // writing and reading the partial

    const reads = [store.getChunk(a.contentId, 1), store.getChunk(b.contentId, 1)]
    await Promise.all([store.deleteContent(a.contentId), store.deleteContent(b.contentId)])
    const [gotA, gotB] = await Promise.all(reads) // read before the deletion (the bytes) or after (nothing)
    if (gotA != null) expectBytes(gotA, a.chunk(1))
    if (gotB != null) expectBytes(gotB, b.chunk(1))
    expect(await openFiles(folder.dir)).toEqual([])
    expect(await tree(folder.dir)).not.toContain('other.mp4')
  })

  it('keeps at most readHandles files open, the least recently used closed first', async () => {
    await mkdir(folder.dir, { recursive: true })
    const files = await Promise.all([0, 1, 2, 3, 4].map(async i => await makeContent({ chunks: 1, seed: 30 + i, name: `v${i}.mp4` })))
    for (const f of files) await writeFile(join(folder.dir, f.manifest.name), f.bytes)
    const store = await folder.open({ readHandles: 2 })
    for (const f of files) expectBytes(await store.getChunk(f.contentId, 0), f.chunk(0))
    expect(await openFiles(folder.dir)).toEqual(['v3.mp4', 'v4.mp4'])
    expectBytes(await store.getChunk(files[3]!.contentId, 0), files[3]!.chunk(0))
    expectBytes(await store.getChunk(files[0]!.contentId, 0), files[0]!.chunk(0))
    expect(await openFiles(folder.dir)).toEqual(['v0.mp4', 'v3.mp4'])
  })

  it('leaves no descriptor open after a run of operations and close()', async () => {
    const before = (await readdir('/proc/self/fd')).length
    const b = await makeContent({ chunks: 2.5, seed: 22, name: 'other.mp4' })
    const c = await makeContent({ chunks: 1.5, seed: 23, name: 'added.mp4' })
    const store = await folder.open({ readHandles: 2 })
    await putAll(store, a)
    await store.putManifest(b.manifest)
    await store.putChunk(b.contentId, 1, b.chunk(1))
    await writeFile(join(folder.dir, 'added.mp4'), c.bytes)
    await store.addFile('added.mp4')
    await Promise.all([a, c].flatMap(content => Array.from({ length: content.count }, async (_, i) => {
      expectBytes(await store.getChunk(content.contentId, i), content.chunk(i))
    })))
    expectBytes(await store.getChunk(b.contentId, 1), b.chunk(1))
    await writeFile(join(folder.root, 'replacement'), a.bytes)
    await rename(join(folder.root, 'replacement'), join(folder.dir, 'added.mp4'))
    await store.addFile('added.mp4') // now a second name of a
    expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
    const reading = store.getChunk(b.contentId, 1)
    await store.deleteContent(b.contentId)
    await reading
    await store.putChunk(a.contentId, 0, a.chunk(0))
    expect((await openFiles(folder.dir)).length).toBeGreaterThan(0)
    await store.close()
    expect(await openFiles(folder.root)).toEqual([])
    expect((await readdir('/proc/self/fd')).length).toBe(before)
  })
})
