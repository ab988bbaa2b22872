import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CHUNK_SIZE } from '@core/content/constants'
import { Library, titleFromFilename, type CatalogueEntry } from '../../relay/library/index'
import { SAMPLE } from './helpers'

let dir: string
const open: Library[] = []

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipbingo-library-'))
})
afterEach(async () => {
  for (const l of open.splice(0)) await l.close()
  await rm(dir, { recursive: true, force: true })
})

async function openLibrary (): Promise<Library> {
  const library = await Library.open({ dir })
  open.push(library)
  return library
}

describe('titleFromFilename', () => {
  it.each([
    ['sample.mp4', 'sample'],
    ['My_Holiday-2024.mp4', 'My Holiday 2024'],
    ['a__b--c.webm', 'a b c'],
    ['no-extension', 'no extension'],
    ['dots.in.name.mkv', 'dots.in.name'],
    ['___.mp4', '___.mp4']
  ])('%s → %s', (name, title) => {
    expect(titleFromFilename(name)).toBe(title)
  })
})

describe('Library', () => {
  it('lists complete files with size, chunks, mime, duration and url; newest first', async () => {
    await copyFile(SAMPLE, join(dir, 'sample.mp4'))
    await writeFile(join(dir, 'Noise Clip.webm'), randomBytes(CHUNK_SIZE + 10))
    await utimes(join(dir, 'sample.mp4'), new Date('2024-01-01'), new Date('2024-01-01'))
    await utimes(join(dir, 'Noise Clip.webm'), new Date('2025-01-01'), new Date('2025-01-01'))
    const library = await openLibrary()
    const entries = library.entries()
    expect(entries.map(e => e.filename)).toEqual(['Noise Clip.webm', 'sample.mp4'])
    const [webm, mp4] = entries as [CatalogueEntry, CatalogueEntry]
    expect(webm).toEqual({
      filename: 'Noise Clip.webm',
      title: 'Noise Clip',
      size: CHUNK_SIZE + 10,
      mime: 'video/webm',
      contentId: expect.stringMatching(/^[0-9a-f]{64}$/),
      chunks: 2,
      chunkSize: CHUNK_SIZE,
      url: '/videos/Noise%20Clip.webm'
    })
    expect(mp4.duration).toBeCloseTo(45, 1)
    expect(mp4.chunks).toBe(Math.ceil(mp4.size / CHUNK_SIZE))
    expect(library.byFilename('sample.mp4')).toEqual(mp4)
    expect(library.byContentId(mp4.contentId)).toEqual(mp4)
    expect(library.byFilename('nope.mp4')).toBeUndefined()
    expect(library.byContentId('0'.repeat(64))).toBeUndefined()
    expect(library.fileOf(mp4.contentId)?.path).toBe(join(dir, 'sample.mp4'))
    expect(library.size).toBe(2)
    // entries() hands out copies
    entries[0]!.title = 'changed'
    expect(library.entries()[0]?.title).toBe('Noise Clip')
  })

  it('adds an uploaded file, tells listeners, keeps its title across a restart', async () => {
    const first = await openLibrary()
    const added: CatalogueEntry[] = []
    const off = first.on('added', e => added.push(e))
    await writeFile(join(dir, 'video_1.mp4'), randomBytes(1000))
    const { entry, created } = await first.addUploadedFile('video_1.mp4', { title: 'Summer, at last' })
    expect(created).toBe(true)
    expect(entry).toMatchObject({ filename: 'video_1.mp4', title: 'Summer, at last', size: 1000, chunks: 1 })
    expect(entry.duration).toBeUndefined()
    expect(added).toEqual([entry])
    expect(first.entries()).toEqual([entry])

    // the same bytes again: the existing entry, no event
    await copyFile(join(dir, 'video_1.mp4'), join(dir, 'video_2.mp4'))
    const again = await first.addUploadedFile('video_2.mp4', { title: 'copy' })
    expect(again).toEqual({ entry, created: false })
    expect(added).toHaveLength(1)
    expect(first.byFilename('video_2.mp4')?.contentId).toBe(entry.contentId)
    off()
    await writeFile(join(dir, 'video_3.mp4'), randomBytes(10))
    await first.addUploadedFile('video_3.mp4')
    expect(added).toHaveLength(1)
    await first.close()
    open.splice(0)

    const second = await openLibrary()
    expect(second.byContentId(entry.contentId)?.title).toBe('Summer, at last')
    expect(second.byFilename('video_3.mp4')?.title).toBe('video 3')
  })

  it('drops half-written uploads a crash left behind', async () => {
    await mkdir(join(dir, '.pipbingo', 'uploads'), { recursive: true })
    await writeFile(join(dir, '.pipbingo', 'uploads', 'stale.part'), 'x')
    const library = await openLibrary()
    expect(await readdir(library.uploadsDir)).toEqual([])
    expect(library.entries()).toEqual([])
  })
})
