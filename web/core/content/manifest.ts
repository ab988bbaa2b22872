import { z } from 'zod'
import { fromHex, toHex, equalBytes } from '../util/hex'
import { sha256 } from '../util/sha256'
import {
  CHUNK_SIZE, CONTENT_ID_PATTERN, CONTENT_ID_TAG, MAX_CHUNK_SIZE, MAX_CONTENT_SIZE,
  MAX_MANIFEST_BYTES, MIN_CHUNK_SIZE
} from './constants'
import { ChunkHashMismatchError, ChunkIndexOutOfRangeError, ContentIdMismatchError, InvalidManifestError } from './errors'
import { isValidFilename } from './filename'

/** A content id: SHA-256 over the chunk hashes, size and chunk size, in hex. */
export type ContentId = string

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a hash is 64 lower-case hex characters')

export const manifestSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().refine(isValidFilename, 'name is not a valid filename'),
  size: z.number().int().min(1).max(MAX_CONTENT_SIZE),
  mime: z.string().max(100).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, 'mime is not a media type'),
  chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE)
    .refine(n => (n & (n - 1)) === 0, 'chunkSize is not a power of two'),
  hashes: z.array(hashSchema)
}).superRefine((m, ctx) => {
  const expected = Math.ceil(m.size / m.chunkSize)
  if (m.hashes.length !== expected) {
    ctx.addIssue({ code: 'custom', message: `hashes has ${m.hashes.length} entries, the size needs ${expected}` })
  }
})

/** `{ name, size, mime, chunkSize, hashes[] }`, the description of one file. */
export type Manifest = z.infer<typeof manifestSchema>

export const contentIdSchema = z.string().regex(CONTENT_ID_PATTERN, 'a content id is 64 lower-case hex characters')

export function isContentId (value: unknown): value is ContentId {
  return typeof value === 'string' && CONTENT_ID_PATTERN.test(value)
}

/** Validate an untrusted manifest (an object already parsed from JSON). */
export function parseManifest (value: unknown): Manifest {
  const result = manifestSchema.safeParse(value)
  if (!result.success) {
    throw new InvalidManifestError(`Invalid manifest: ${result.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  }
  return result.data
}

/** Decode and validate manifest bytes (JSON), bounded in size. */
export function decodeManifest (bytes: Uint8Array): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw new InvalidManifestError('Invalid manifest: too large')
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new InvalidManifestError('Invalid manifest: not UTF-8 JSON')
  }
  return parseManifest(value)
}

export function encodeManifest (manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest))
}

/** The content id of a manifest: the name and mime type are labels and do not count. */
export async function contentIdOf (manifest: Pick<Manifest, 'size' | 'chunkSize' | 'hashes'>): Promise<ContentId> {
  const tag = new TextEncoder().encode(CONTENT_ID_TAG)
  const buf = new Uint8Array(tag.byteLength + 12 + manifest.hashes.length * 32)
  buf.set(tag, 0)
  const view = new DataView(buf.buffer)
  view.setBigUint64(tag.byteLength, BigInt(manifest.size))
  view.setUint32(tag.byteLength + 8, manifest.chunkSize)
  let offset = tag.byteLength + 12
  for (const hash of manifest.hashes) {
    buf.set(fromHex(hash), offset)
    offset += 32
  }
  return toHex(await sha256(buf))
}

/** Throws ContentIdMismatchError unless `manifest` is the one `contentId` names. */
export async function verifyManifest (manifest: Manifest, contentId: ContentId): Promise<void> {
  if (await contentIdOf(manifest) !== contentId) throw new ContentIdMismatchError()
}

export function chunkCount (manifest: Pick<Manifest, 'size' | 'chunkSize'>): number {
  return Math.ceil(manifest.size / manifest.chunkSize)
}

/** Length of chunk `index` (the last one is shorter). */
export function chunkLength (manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  checkIndex(manifest, index)
  return Math.min(manifest.chunkSize, manifest.size - index * manifest.chunkSize)
}

/** The byte range `[start, end)` of chunk `index` in the file. */
export function chunkRange (manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): { start: number, end: number } {
  const start = index * manifest.chunkSize
  return { start, end: start + chunkLength(manifest, index) }
}

export function checkIndex (manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= chunkCount(manifest)) {
    throw new ChunkIndexOutOfRangeError(`Chunk ${index} is outside the content (${chunkCount(manifest)} chunks)`)
  }
}

/** Throws ChunkHashMismatchError unless `data` is chunk `index` of the manifest. */
export async function verifyChunk (manifest: Manifest, index: number, data: Uint8Array): Promise<void> {
  if (data.byteLength !== chunkLength(manifest, index)) {
    throw new ChunkHashMismatchError(`Chunk ${index} has ${data.byteLength} bytes, expected ${chunkLength(manifest, index)}`)
  }
  const expected = fromHex(manifest.hashes[index] as string)
  if (!equalBytes(await sha256(data), expected)) throw new ChunkHashMismatchError(`Chunk ${index} does not match its hash`)
}

export { CHUNK_SIZE }
