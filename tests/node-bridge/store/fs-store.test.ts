import { mkdir, open as openFile, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Manifest } from '@core/content/manifest'
import { FsChunkStore, type CorruptionEvent, type ScanProgress } from '../../../node-bridge/store/index'
import { chunkStoreCompliance, expectBytes, makeContent, rejectionName, type Content } from '../../core/store/compliance'
import { KIB16, tempRoot, tree } from './helpers'

chunkStoreCompliance('FsChunkStore', async () => {
  const dir = await tempRoot()
  const store = await FsChunkStore.open({ dir })
  return {
    store,
    cleanup: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
})

describe('FsChunkStore on disk', () => {
  let root: string
  let dir: string
  let a: Content
  const opened: FsChunkStore[] = []
  const events: ScanProgress[] = []

  async function openStore (options: { scan?: boolean, onCorruption?(e: CorruptionEvent): void } = {}): Promise<FsChunkStore> {
    events.length = 0
    const store = await FsChunkStore.open({ dir, chunkSize: KIB16, onProgress: e => events.push(e), ...options })
    opened.push(store)
    return store
  }
  const count = (type: ScanProgress['type']): number => events.filter(e => e.type === type).length

  beforeEach(async () => {
    root = await tempRoot()
    dir = join(root, 'store')
    a = await makeContent({ chunks: 3.5, seed: 11, name: 'movie.mp4' })
  })
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close()
    await rm(root, { recursive: true, force: true })
  })

  describe('partial downloads', () => {
    it('lays out .part, state and manifest, and resumes exactly after a reopen', async () => {
      const first = await openStore()
      await first.putManifest(a.manifest)
      await first.putChunk(a.contentId, 0, a.chunk(0))
      await first.putChunk(a.contentId, 2, a.chunk(2))
      expect(await tree(dir)).toEqual([
        '.pipbingo', '.pipbingo/in-use', `.pipbingo/manifests`, `.pipbingo/manifests/${a.contentId}.json`, '.pipbingo/scan-cache.json',
        '.pipbingo/state', `.pipbingo/state/${a.contentId}.bitfield`, 'movie.mp4.part'
      ])
      // as long as the furthest chunk written, no longer (nothing preallocated)
      expect((await stat(join(dir, 'movie.mp4.part'))).size).toBe(3 * KIB16)
      await first.close()
      expect(await tree(dir)).not.toContain('.pipbingo/in-use') // closed cleanly, every partial flushed

      const second = await openStore()
      expect(await second.listContents()).toEqual([a.contentId])
      expect(await second.getManifest(a.contentId)).toEqual(a.manifest)
      expect([...(await second.have(a.contentId))!.indices()]).toEqual([0, 2])
      expectBytes(await second.getChunk(a.contentId, 0), a.chunk(0))
      expectBytes(await second.getChunk(a.contentId, 2), a.chunk(2))
      expect(await second.getChunk(a.contentId, 1)).toBeUndefined()
      expect(await second.getChunk(a.contentId, 3)).toBeUndefined()
      expect(second.isComplete(a.contentId)).toBe(false)
      expect(second.pathOf(a.contentId)).toBeUndefined()
      expect(second.filenameOf(a.contentId)).toBe('movie.mp4')
      expect(second.contentIdOf('movie.mp4')).toBe(a.contentId)
      expect(count('file-hashed')).toBe(0)
    })

    it('a manifest with no chunk yet survives a reopen, empty', async () => {
      const first = await openStore()
      await first.putManifest(a.manifest)
      await first.close()
      const second = await openStore()
      expect((await second.have(a.contentId))?.count()).toBe(0)
    })

    it('renames .part to the filename once every chunk is verified, and stays complete', async () => {
      const store = await openStore()
      await store.putManifest(a.manifest)
      for (const i of [3, 1, 0, 2]) await store.putChunk(a.contentId, i, a.chunk(i))
      expect(store.isComplete(a.contentId)).toBe(true)
      expect(store.pathOf(a.contentId)).toBe(join(dir, 'movie.mp4'))
      expectBytes(await readFile(join(dir, 'movie.mp4')), a.bytes)
      expect(await tree(dir)).not.toContain('movie.mp4.part')
      expect(await tree(dir)).not.toContain(`.pipbingo/state/${a.contentId}.bitfield`)
      await store.close()

      const again = await openStore()
      expect(again.isComplete(a.contentId)).toBe(true)
      expect((await again.have(a.contentId))!.isComplete()).toBe(true)
      expectBytes(await again.getChunk(a.contentId, 3), a.chunk(3))
      expect(count('file-cached')).toBe(1)
      expect(count('file-hashing')).toBe(0)
    })

    it('picks a free name when the filename is taken, by a file or by another partial', async () => {
      const other = await makeContent({ chunks: 1.5, seed: 12, name: 'movie.mp4' })
      const store = await openStore()
      await store.putManifest(a.manifest)
      await store.putManifest(other.manifest)
      expect(store.filenameOf(other.contentId)).toBe('movie (1).mp4')
      await writeFile(join(dir, 'movie.mp4'), 'somebody else')
      for (let i = 0; i < a.count; i++) await store.putChunk(a.contentId, i, a.chunk(i))
      for (let i = 0; i < other.count; i++) await store.putChunk(other.contentId, i, other.chunk(i))
      expect(await readFile(join(dir, 'movie.mp4'), 'utf8')).toBe('somebody else')
      expect(store.filenameOf(a.contentId)).toBe('movie (2).mp4')
      expectBytes(await readFile(join(dir, 'movie (2).mp4')), a.bytes)
      expectBytes(await readFile(join(dir, 'movie (1).mp4')), other.bytes)
      expect(store.contentIdOf('movie (2).mp4')).toBe(a.contentId)
    })

    it('never claims a chunk whose data was written but whose bitfield was not (crash)', async () => {
      const first = await openStore()
      await first.putManifest(a.manifest)
      await first.putChunk(a.contentId, 0, a.chunk(0))
      // the process dies after writing chunk 1's bytes, before the state file: do it by hand
      const part = await openFile(join(dir, 'movie.mp4.part'), 'r+')
      await part.write(a.chunk(1), 0, KIB16, KIB16)
      await part.close()
      const stateBefore = await readFile(join(dir, '.pipbingo/state', `${a.contentId}.bitfield`))

      const second = await openStore() // the first is abandoned, not closed
      expect([...(await second.have(a.contentId))!.indices()]).toEqual([0])
      expect(await second.getChunk(a.contentId, 1)).toBeUndefined()
      expect(await readFile(join(dir, '.pipbingo/state', `${a.contentId}.bitfield`))).toEqual(stateBefore)
      for (const i of [1, 2, 3]) await second.putChunk(a.contentId, i, a.chunk(i))
      expectBytes(await readFile(join(dir, 'movie.mp4')), a.bytes)
    })

    it('a claimed chunk that is corrupt in .part is not served and is wanted again', async () => {
      const seen: CorruptionEvent[] = []
      const store = await openStore({ onCorruption: e => seen.push(e) })
      await store.putManifest(a.manifest)
      await store.putChunk(a.contentId, 1, a.chunk(1))
      const part = await openFile(join(dir, 'movie.mp4.part'), 'r+')
      await part.write(new Uint8Array([1, 2, 3]), 0, 3, KIB16 + 5)
      await part.close()
      expect(await store.getChunk(a.contentId, 1)).toBeUndefined()
      expect(seen).toEqual([{ contentId: a.contentId, index: 1, path: join(dir, 'movie.mp4.part') }])
      expect((await store.have(a.contentId))!.has(1)).toBe(false)
      await store.putChunk(a.contentId, 1, a.chunk(1))
      expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
    })

    it('a .part deleted by hand restarts the download instead of claiming chunks', async () => {
      const first = await openStore()
      await first.putManifest(a.manifest)
      await first.putChunk(a.contentId, 0, a.chunk(0))
      await first.close()
      await rm(join(dir, 'movie.mp4.part'))
      const second = await openStore()
      expect((await second.have(a.contentId))!.count()).toBe(0)
      expect((await stat(join(dir, 'movie.mp4.part'))).size).toBe(0)
    })

    it('a .part shorter than its claimed chunks restarts the download; one reaching them resumes', async () => {
      const first = await openStore()
      await first.putManifest(a.manifest)
      await first.putChunk(a.contentId, 1, a.chunk(1))
      await first.close()
      const { truncate } = await import('node:fs/promises')
      await truncate(join(dir, 'movie.mp4.part'), 2 * KIB16 - 1) // cut inside chunk 1
      const second = await openStore()
      expect((await second.have(a.contentId))!.count()).toBe(0)
      await second.putChunk(a.contentId, 1, a.chunk(1))
      await second.close()
      const third = await openStore()
      expect([...(await third.have(a.contentId))!.indices()]).toEqual([1])
      expectBytes(await third.getChunk(a.contentId, 1), a.chunk(1))
    })

    it('a manifest of 1.97 GB with no chunk yet takes no room: an empty .part, not a sparse file of the full size', async () => {
      const store = await openStore()
      const chunkSize = 256 * 1024
      const size = 1_970_000_000
      const hashes = Array.from({ length: Math.ceil(size / chunkSize) }, (_, i) => i.toString(16).padStart(64, '0'))
      const big: Manifest = { version: 1, name: 'huge.mp4', size, mime: 'video/mp4', chunkSize, hashes }
      await store.putManifest(big)
      const part = await stat(join(dir, 'huge.mp4.part'))
      expect(part.size).toBe(0)
      expect(part.blocks).toBe(0)
    })
  })

  describe('scanning the folder', () => {
    beforeEach(async () => {
      await mkdir(join(dir, 'sub'), { recursive: true })
      await writeFile(join(dir, 'movie.mp4'), a.bytes)
      await writeFile(join(dir, '.hidden.mp4'), 'hidden')
      await writeFile(join(dir, 'other.mp4.part'), 'partial of nobody')
      await writeFile(join(dir, 'sub', 'nested.mp4'), 'nested')
      await writeFile(join(dir, 'trailing space.mp4 '), 'refused by checkFilename')
      await writeFile(join(root, 'outside.mp4'), a.bytes.subarray(0, 1000))
      await symlink(join(root, 'outside.mp4'), join(dir, 'link.mp4'))
    })

    it('manifests hand-dropped files, and only those', async () => {
      const store = await openStore()
      expect(await store.listContents()).toEqual([a.contentId])
      expect(await store.getManifest(a.contentId)).toEqual({ ...a.manifest, mime: 'video/mp4' })
      expect(store.pathOf(a.contentId)).toBe(join(dir, 'movie.mp4'))
      expect(store.contentIdOf('movie.mp4')).toBe(a.contentId)
      expect((await store.have(a.contentId))!.isComplete()).toBe(true)
      for (let i = 0; i < a.count; i++) expectBytes(await store.getChunk(a.contentId, i), a.chunk(i))
      expect(count('file-hashed')).toBe(1)
      expect(events.at(-1)).toEqual({ type: 'scan-done', hashed: 1, cached: 0, removed: 0 })
      const cache = JSON.parse(await readFile(join(dir, '.pipbingo/scan-cache.json'), 'utf8'))
      expect(Object.keys(cache.files)).toEqual(['movie.mp4'])
      expect(cache.files['movie.mp4'].contentId).toBe(a.contentId)
    })

    it('does not hash an unchanged file again, and does hash a changed one', async () => {
      await (await openStore()).close()
      expect(count('file-hashing')).toBeGreaterThan(0)

      await (await openStore()).close()
      expect(count('file-hashing')).toBe(0)
      expect(count('file-cached')).toBe(1)

      const changed = await makeContent({ chunks: 3.5, seed: 13, name: 'movie.mp4' }) // same size, other bytes
      await writeFile(join(dir, 'movie.mp4'), changed.bytes)
      const later = new Date(Date.now() + 5000)
      await utimes(join(dir, 'movie.mp4'), later, later)
      const store = await openStore()
      expect(count('file-hashed')).toBe(1)
      expect(count('file-cached')).toBe(0)
      expect(await store.listContents()).toEqual([changed.contentId])
      expect(events).toContainEqual({ type: 'content-removed', contentId: a.contentId })
      expect(await tree(dir)).not.toContain(`.pipbingo/manifests/${a.contentId}.json`)
    })

    it('forgets a file deleted by hand on the next open', async () => {
      await (await openStore()).close()
      await rm(join(dir, 'movie.mp4'))
      const store = await openStore()
      expect(await store.listContents()).toEqual([])
      expect(store.contentIdOf('movie.mp4')).toBeUndefined()
      expect(count('content-removed')).toBe(1)
      expect(await readdir(join(dir, '.pipbingo/manifests'))).toEqual([])
      const cache = JSON.parse(await readFile(join(dir, '.pipbingo/scan-cache.json'), 'utf8'))
      expect(cache.files).toEqual({})
    })

    it('with scan: false, adopts no unknown file', async () => {
      const store = await openStore({ scan: false })
      expect(await store.listContents()).toEqual([])
      expect(count('file-hashing')).toBe(0)
    })

    it('never serves a file changed on disk after it was manifested', async () => {
      const seen: CorruptionEvent[] = []
      const store = await openStore({ onCorruption: e => seen.push(e) })
      const file = await openFile(join(dir, 'movie.mp4'), 'r+')
      await file.write(new Uint8Array([0xff ^ a.bytes[2 * KIB16 + 9]!]), 0, 1, 2 * KIB16 + 9)
      await file.close()
      expect(await store.getChunk(a.contentId, 2)).toBeUndefined()
      expect(seen).toEqual([{ contentId: a.contentId, index: 2, path: join(dir, 'movie.mp4') }])
      expectBytes(await store.getChunk(a.contentId, 1), a.chunk(1))
      await rm(join(dir, 'movie.mp4'))
      expect(await store.getChunk(a.contentId, 1)).toBeUndefined()
    })
  })

  describe('addFile', () => {
    it('adopts a file placed in the folder, streaming', async () => {
      const store = await openStore()
      await writeFile(join(dir, 'upload.webm'), a.bytes)
      const progress: number[] = []
      const landed: number[] = []
      store.onChunk(a.contentId, index => landed.push(index))
      const added = await store.addFile('upload.webm', { onProgress: p => progress.push(p.bytesHashed) })
      expect(added.contentId).toBe(a.contentId)
      expect(landed).toEqual([0, 1, 2, 3]) // a subscriber that asked before the file came hears of every chunk
      expect(added.manifest).toEqual({ ...a.manifest, name: 'upload.webm', mime: 'video/webm' })
      expect(progress.at(-1)).toBe(a.bytes.byteLength)
      expect(store.contentIdOf('upload.webm')).toBe(a.contentId)
      expect(store.pathOf(a.contentId)).toBe(join(dir, 'upload.webm'))
      expectBytes(await store.getChunk(a.contentId, 3), a.chunk(3))
      await store.close()
      await openStore()
      expect(count('file-cached')).toBe(1)
      expect(count('file-hashing')).toBe(0)
    })

    it('completes a partial download of the same bytes, and says which chunks landed', async () => {
      const store = await openStore()
      await store.putManifest(a.manifest)
      await store.putChunk(a.contentId, 0, a.chunk(0))
      const landed: number[] = []
      store.onChunk(a.contentId, index => landed.push(index))
      await writeFile(join(dir, 'copy.mp4'), a.bytes)
      await store.addFile('copy.mp4')
      expect(landed).toEqual([1, 2, 3]) // chunk 0 was held already
      expect(store.isComplete(a.contentId)).toBe(true)
      expect(store.filenameOf(a.contentId)).toBe('copy.mp4')
      expect(await tree(dir)).not.toContain('movie.mp4.part')
      await store.putChunk(a.contentId, 1, a.chunk(1)) // still verified, nothing to write
      expect(await rejectionName(store.putChunk(a.contentId, 1, a.chunk(2)))).toBe('ChunkHashMismatchError')
    })

    it('a file overwritten with other bytes replaces its content', async () => {
      const store = await openStore()
      await writeFile(join(dir, 'clip.mp4'), a.bytes)
      await store.addFile('clip.mp4')
      const b = await makeContent({ chunks: 1.25, seed: 14 })
      await writeFile(join(dir, 'clip.mp4'), b.bytes)
      await store.addFile('clip.mp4')
      expect(await store.listContents()).toEqual([b.contentId])
      expect(store.contentIdOf('clip.mp4')).toBe(b.contentId)
    })

    it('refuses what is not a regular file, and .part names', async () => {
      const store = await openStore()
      expect(await rejectionName(store.addFile('missing.mp4'))).toBe('NotAFileError')
      await mkdir(join(dir, 'folder.mp4'))
      expect(await rejectionName(store.addFile('folder.mp4'))).toBe('NotAFileError')
      await writeFile(join(dir, 'x.mp4.part'), 'x')
      expect(await rejectionName(store.addFile('x.mp4.part'))).toBe('InvalidFilenameError')
    })
  })

  describe('hostile names', () => {
    const hostile = ['../x', '..', '../../etc/passwd', 'a/b', 'a\\b', '/tmp/x', '.pipbingo', '.x', 'x\u0000y', 'x\ny', '', ' x', 'x'.repeat(201)]

    it('putManifest refuses them with InvalidFilenameError and writes nothing, inside or outside dir', async () => {
      const store = await openStore()
      const before = await tree(root)
      for (const name of hostile) {
        const manifest = { ...a.manifest, name } satisfies Manifest
        expect(await rejectionName(store.putManifest(manifest)), JSON.stringify(name)).toBe('InvalidFilenameError')
      }
      expect(await tree(root)).toEqual(before)
      expect(await store.listContents()).toEqual([])
    })

    it('addFile and lookups refuse them too', async () => {
      const store = await openStore()
      await writeFile(join(root, 'x'), a.bytes)
      for (const name of ['../x', '/etc/passwd', '..', '.pipbingo/scan-cache.json']) {
        expect(await rejectionName(store.addFile(name)), name).toBe('InvalidFilenameError')
      }
      expect(store.contentIdOf('../x')).toBeUndefined()
      expect(await store.listContents()).toEqual([])
    })
  })

  it('cleans up what a crash or a hand left in .pipbingo', async () => {
    const junk = await makeContent({ chunks: 1, seed: 15 })
    await (await openStore()).close()
    const meta = join(dir, '.pipbingo')
    await writeFile(join(meta, 'manifests', `${a.contentId}.json`), JSON.stringify(junk.manifest)) // not its id
    await writeFile(join(meta, 'manifests', `${junk.contentId}.json`), '{ not json')
    await writeFile(join(meta, 'state', `${junk.contentId}.bitfield`), 'garbage')
    await writeFile(join(meta, 'state', `${a.contentId}.bitfield.01234567-89ab-cdef-0123-456789abcdef.tmp`), 'half written')
    await writeFile(join(meta, 'scan-cache.json'), '[]')
    const store = await openStore()
    expect(await store.listContents()).toEqual([])
    expect(await readdir(join(meta, 'manifests'))).toEqual([])
    expect(await readdir(join(meta, 'state'))).toEqual([])
    expect(JSON.parse(await readFile(join(meta, 'scan-cache.json'), 'utf8'))).toEqual({ version: 1, files: {} })
  })

  it('open() honours an aborted signal', async () => {
    const reason = await rejectionName(FsChunkStore.open({ dir, signal: AbortSignal.abort() }))
    expect(reason).toBe('AbortError')
  })

  it('refuses work after close', async () => {
    const store = await openStore()
    await store.close()
    expect(await rejectionName(store.putManifest(a.manifest))).toBe('StoreClosedError')
  })
})
