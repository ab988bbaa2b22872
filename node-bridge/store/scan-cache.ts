import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { contentIdSchema, type ContentId } from '@core/content/manifest'
import { writeFileAtomic } from './file-io'
import { SerialQueue } from './serial-queue'

export interface FileStamp {
  size: number
  mtimeMs: number
}

export interface CachedFile extends FileStamp {
  contentId: ContentId
}

const cacheSchema = z.object({
  version: z.literal(1),
  files: z.record(z.string(), z.object({
    size: z.number().int().nonnegative(),
    mtimeMs: z.number(),
    contentId: contentIdSchema
  }))
})

/**
 * `dir/.pipbingo/scan-cache.json`: for every complete file the store knows,
 * the size and mtime it had when it was hashed, and its content id (the
 * manifest itself is in `manifests/<contentId>.json`). A file whose size and
 * mtime still match is not hashed again.
 */
export class ScanCache {
  private readonly files: Map<string, CachedFile>
  private readonly queue = new SerialQueue()
  private pending: Promise<void> | undefined

  private constructor (private readonly path: string, files: Map<string, CachedFile>) {
    this.files = files
  }

  /** Load the cache; a missing or unreadable one is an empty cache (it only saves work). */
  static async load (path: string): Promise<ScanCache> {
    try {
      const parsed = cacheSchema.safeParse(JSON.parse(await readFile(path, 'utf8')))
      if (parsed.success) return new ScanCache(path, new Map(Object.entries(parsed.data.files)))
    } catch {}
    return new ScanCache(path, new Map())
  }

  /** The content id of `name` if its size and mtime are what they were when hashed. */
  lookup (name: string, stamp: FileStamp): ContentId | undefined {
    const cached = this.files.get(name)
    if (cached == null || cached.size !== stamp.size || cached.mtimeMs !== stamp.mtimeMs) return undefined
    return cached.contentId
  }

  get (name: string): CachedFile | undefined {
    return this.files.get(name)
  }

  set (name: string, stamp: FileStamp, contentId: ContentId): void {
    this.files.set(name, { size: stamp.size, mtimeMs: stamp.mtimeMs, contentId })
  }

  delete (name: string): void {
    this.files.delete(name)
  }

  names (): string[] {
    return [...this.files.keys()]
  }

  /**
   * Write the cache to disk. Calls that arrive while a write is waiting share
   * it; every call resolves after a write that includes its changes.
   */
  async save (): Promise<void> {
    if (this.pending != null) return this.pending
    const pending = this.queue.run(async () => {
      this.pending = undefined
      const json = JSON.stringify({ version: 1, files: Object.fromEntries(this.files) })
      await writeFileAtomic(this.path, json)
    })
    this.pending = pending
    return pending
  }

  async idle (): Promise<void> {
    await this.queue.idle()
  }
}
