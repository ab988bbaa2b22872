import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'

/** Longest title kept, in UTF-16 code units. */
export const MAX_TITLE_LENGTH = 200

/**
 * A display title from a filename: the extension dropped, `_` and `-` read as
 * spaces, white space collapsed. `My_Holiday-2024.mp4` → `My Holiday 2024`.
 */
export function titleFromFilename (filename: string): string {
  const dot = filename.lastIndexOf('.')
  const stem = dot > 0 ? filename.slice(0, dot) : filename
  return cleanTitle(stem.replace(/[_-]+/g, ' ')) || filename
}

/** A title made safe to show: NFC, no control or bidirectional formatting characters, single spaces, bounded. */
export function cleanTitle (title: string): string {
  // eslint-disable-next-line no-control-regex
  return title.normalize('NFC').replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/g, ' ')
    .replace(/\s+/g, ' ').trim().slice(0, MAX_TITLE_LENGTH).trim()
}

const titlesSchema = z.object({
  version: z.literal(1),
  titles: z.record(z.string(), z.string().max(MAX_TITLE_LENGTH))
})

/**
 * Titles known better than the filename says (an upload is stored as
 * `video_<ms>.mp4` but keeps its original name as title), persisted in
 * `<library>/.pipbingo/titles.json` so a restart keeps them.
 */
export class TitleBook {
  private readonly path: string
  private readonly titles: Map<string, string>
  private writing: Promise<void> = Promise.resolve()

  private constructor (path: string, titles: Map<string, string>) {
    this.path = path
    this.titles = titles
  }

  /** Load the book; a missing or malformed file is an empty book (titles are cosmetic). */
  static async load (metaDir: string): Promise<TitleBook> {
    const path = join(metaDir, 'titles.json')
    try {
      const parsed = titlesSchema.safeParse(JSON.parse(await readFile(path, 'utf8')))
      if (parsed.success) return new TitleBook(path, new Map(Object.entries(parsed.data.titles)))
    } catch {}
    return new TitleBook(path, new Map())
  }

  titleOf (filename: string): string {
    return this.titles.get(filename) ?? titleFromFilename(filename)
  }

  /** Remember a title and write the book (atomically: temp file, then rename). */
  async set (filename: string, title: string): Promise<void> {
    this.titles.set(filename, cleanTitle(title) || titleFromFilename(filename))
    const data = JSON.stringify({ version: 1, titles: Object.fromEntries(this.titles) })
    const write = this.writing.then(async () => {
      const tmp = `${this.path}.tmp`
      await writeFile(tmp, data)
      await rename(tmp, this.path)
    })
    this.writing = write.catch(() => {})
    await write
  }
}
