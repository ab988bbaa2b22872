import { open as openFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { decodeState } from '../../../node-bridge/store/state-file'
import { expectBytes, makeContent, type Content } from '../../core/store/compliance'
import { KIB16, linux, tree, useStoreFolder } from './helpers'

/** Paths the store flushed with syncFile (the flush of every partial at close). */
const synced = vi.hoisted(() => [] as string[])
vi.mock('../../../node-bridge/store/file-io', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../node-bridge/store/file-io')>()
  return {
    ...real,
    syncFile: async (path: string) => {
      synced.push(path)
      await real.syncFile(path)
    }
  }
})

describe('InUseMarker (through FsChunkStore): after a crash', () => {
  const folder = useStoreFolder()
  let a: Content
  beforeEach(async () => {
    a = await makeContent({ chunks: 3.5, seed: 11, name: 'movie.mp4' })
  })

  const statePath = (): string => join(folder.dir, '.pipbingo/state', `${a.contentId}.bitfield`)
  const claims = async (): Promise<number[]> => [...decodeState(await readFile(statePath())).have.indices()]

  /** Chunks 0, 1 and 2 claimed by a store that is then abandoned (never closed), chunk 1 zeroed in `.part` behind its back. */
  async function abandonWithChunkOneLost (): Promise<void> {
    const first = await folder.open()
    await first.putManifest(a.manifest)
    for (const i of [0, 1, 2]) await first.putChunk(a.contentId, i, a.chunk(i))
    const part = await openFile(join(folder.dir, 'movie.mp4.part'), 'r+')
    await part.write(new Uint8Array(KIB16), 0, KIB16, KIB16)
    await part.close()
  }

  it('after the machine went down with the store open, claimed chunks are checked and lost ones dropped', async () => {
    await abandonWithChunkOneLost() // as a power cut does to data still in the page cache
    await writeFile(join(folder.dir, '.pipbingo/in-use'), 'the id of an earlier boot')
    const second = await folder.open()
    expect([...(await second.have(a.contentId))!.indices()]).toEqual([0, 2])
    expect(await claims()).toEqual([0, 2])
    for (const i of [1, 3]) await second.putChunk(a.contentId, i, a.chunk(i))
    expectBytes(await readFile(join(folder.dir, 'movie.mp4')), a.bytes)
  })

  it.skipIf(!linux)('after only the process died (same boot: the page cache survived), claims are trusted without reading them', async () => {
    await abandonWithChunkOneLost() // not what kill -9 does: it shows that nothing was checked
    const second = await folder.open()
    expect([...(await second.have(a.contentId))!.indices()]).toEqual([0, 1, 2])
    expect(await second.getChunk(a.contentId, 1)).toBeUndefined() // caught when read, and wanted again
    expect([...(await second.have(a.contentId))!.indices()]).toEqual([0, 2])
  })

  it('a clean close flushes every partial and removes the marker; the next open checks nothing', async () => {
    const first = await folder.open()
    await first.putManifest(a.manifest)
    for (const i of [0, 1]) await first.putChunk(a.contentId, i, a.chunk(i))
    expect(await tree(folder.dir)).toContain('.pipbingo/in-use')
    synced.length = 0
    await first.close()
    expect(synced).toEqual([join(folder.dir, 'movie.mp4.part')])
    expect(await tree(folder.dir)).not.toContain('.pipbingo/in-use')
    const part = await openFile(join(folder.dir, 'movie.mp4.part'), 'r+')
    await part.write(new Uint8Array(KIB16), 0, KIB16, KIB16)
    await part.close()
    const second = await folder.open()
    expect([...(await second.have(a.contentId))!.indices()]).toEqual([0, 1])
  })
})
