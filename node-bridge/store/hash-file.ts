import { createReadStream } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { buildManifest, mimeFromFilename, type ManifestProgress } from '@core/content/builder'
import type { ContentId, Manifest } from '@core/content/manifest'
import { FileChangedWhileHashingError, NotAFileError } from './errors'
import type { FileStamp } from './scan-cache'

export interface HashFileOptions {
  chunkSize?: number
  signal?: AbortSignal
  onProgress?(progress: ManifestProgress): void
}

export interface HashedFile {
  manifest: Manifest
  contentId: ContentId
  /** Size and mtime of the file that was hashed. */
  stamp: FileStamp
}

/**
 * Manifest a regular file by streaming it from disk (one chunk in memory at a
 * time), named `name`. Throws NotAFileError for anything but a regular file
 * (links are not followed), FileChangedWhileHashingError when its size or
 * mtime moved meanwhile.
 */
export async function hashFile (path: string, name: string, options: HashFileOptions = {}): Promise<HashedFile> {
  const stamp = await stampOf(path)
  if (stamp == null) throw new NotAFileError(`${path} is not a regular file`)
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, signal: options.signal })
  let built: { manifest: Manifest, contentId: ContentId }
  try {
    built = await buildManifest(stream, {
      name,
      mime: mimeFromFilename(name),
      chunkSize: options.chunkSize,
      expectedSize: stamp.size,
      signal: options.signal,
      onProgress: options.onProgress
    })
  } finally {
    stream.destroy()
  }
  const after = await stampOf(path)
  if (after?.size !== stamp.size || after.mtimeMs !== stamp.mtimeMs) throw new FileChangedWhileHashingError()
  return { ...built, stamp }
}

/** Size and mtime of a regular file (not following links), or undefined. */
export async function stampOf (path: string): Promise<FileStamp | undefined> {
  try {
    const stats = await lstat(path)
    return stats.isFile() ? { size: stats.size, mtimeMs: stats.mtimeMs } : undefined
  } catch {
    return undefined
  }
}
