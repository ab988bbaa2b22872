import { toHex } from '../util/hex'
import { sha256 } from '../util/sha256'
import type { AbortOptions } from '../util/abort'
import { CHUNK_SIZE, MAX_CONTENT_SIZE } from './constants'
import { ContentTooLargeError, InvalidManifestError } from './errors'
import { contentIdOf, parseManifest, type ContentId, type Manifest } from './manifest'

export interface ManifestProgress {
  bytesHashed: number
  /** Known when the caller says how large the input is. */
  totalBytes?: number
}

export interface BuildManifestOptions extends AbortOptions {
  name: string
  mime: string
  chunkSize?: number
  /** For progress only; the manifest's size is what the input really held. */
  expectedSize?: number
  onProgress?(progress: ManifestProgress): void
}

/**
 * Hash a byte stream into a manifest, one chunk at a time: memory use is one
 * chunk whatever the file's size. Works with Node streams (async iterables of
 * Buffer) and WHATWG ReadableStreams alike.
 */
export async function buildManifest (input: AsyncIterable<Uint8Array>, options: BuildManifestOptions): Promise<{ manifest: Manifest, contentId: ContentId }> {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE
  const hashes: string[] = []
  const buffer = new Uint8Array(chunkSize)
  let filled = 0
  let size = 0

  for await (const piece of input) {
    options.signal?.throwIfAborted()
    let offset = 0
    while (offset < piece.byteLength) {
      const take = Math.min(chunkSize - filled, piece.byteLength - offset)
      buffer.set(piece.subarray(offset, offset + take), filled)
      filled += take
      offset += take
      if (filled === chunkSize) {
        hashes.push(toHex(await sha256(buffer)))
        filled = 0
      }
    }
    size += piece.byteLength
    if (size > MAX_CONTENT_SIZE) throw new ContentTooLargeError()
    options.onProgress?.({ bytesHashed: size, totalBytes: options.expectedSize })
  }
  if (filled > 0) hashes.push(toHex(await sha256(buffer.subarray(0, filled))))
  if (size === 0) throw new InvalidManifestError('Cannot make a manifest of an empty file')

  const manifest = parseManifest({ version: 1, name: options.name, size, mime: options.mime, chunkSize, hashes })
  return { manifest, contentId: await contentIdOf(manifest) }
}

/** Guess a media type from a filename's extension (video first; octet-stream otherwise). */
export function mimeFromFilename (name: string): string {
  const ext = name.toLowerCase().split('.').pop() ?? ''
  return MIME_BY_EXTENSION[ext] ?? 'application/octet-stream'
}

const MIME_BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  mov: 'video/quicktime',
  ogv: 'video/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  opus: 'audio/ogg'
}
