import { z } from 'zod'
import { MAX_CHUNK_SIZE, MAX_CONTENT_SIZE, MIN_CHUNK_SIZE } from '../../content/constants'
import { isValidFilename } from '../../content/filename'
import { contentIdSchema } from '../../content/manifest'
import { MAX_LIST_BYTES, MAX_LIST_ENTRIES, MAX_TITLE_LENGTH } from './constants'

/**
 * /pipbingo/catalogue/1.0.0: one request and one answer per stream, each a
 * length-prefixed UTF-8 JSON object validated by these schemas on both
 * ends (the tracker's framing). `list` answers the relay's own library
 * only, never what it learned from other relays, so two relays that list
 * each other do not echo; `manifest` answers one of those videos'
 * manifests, which the asker checks against the content id it asked for.
 */
export const requestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('list') }),
  z.strictObject({ type: z.literal('manifest'), contentId: contentIdSchema })
])
export type CatalogueRequest = z.infer<typeof requestSchema>

/** One library video as a relay shares it: `GET /list`'s fields that do not depend on who asks. */
export const remoteVideoSchema = z.object({
  filename: z.string().refine(isValidFilename, 'not a valid filename'),
  title: z.string().min(1).max(MAX_TITLE_LENGTH),
  size: z.number().int().min(1).max(MAX_CONTENT_SIZE),
  mime: z.string().max(100).regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, 'not a media type'),
  contentId: contentIdSchema,
  chunks: z.number().int().min(1),
  chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE).refine(n => (n & (n - 1)) === 0, 'not a power of two'),
  duration: z.number().nonnegative().max(1e9).optional()
}).refine(v => v.chunks === Math.ceil(v.size / v.chunkSize), 'chunks does not match size and chunkSize')
export type RemoteVideo = z.infer<typeof remoteVideoSchema>

/** A video's shared fields out of a larger entry (a library, published or remote one): nothing else goes along. */
export function videoFields (e: RemoteVideo): RemoteVideo {
  return {
    filename: e.filename,
    title: e.title,
    size: e.size,
    mime: e.mime,
    contentId: e.contentId,
    chunks: e.chunks,
    chunkSize: e.chunkSize,
    ...(e.duration == null ? {} : { duration: e.duration })
  }
}

/** Why a request was refused: the asker treats `unknown` as "no such video" and `busy` as "later". */
export const ERROR_CODES = ['unknown', 'busy', 'bad-request', 'failed'] as const
export type CatalogueErrorCode = typeof ERROR_CODES[number]

const errorSchema = z.strictObject({ ok: z.literal(false), code: z.enum(ERROR_CODES), error: z.string().max(1000) })
export type CatalogueError = z.infer<typeof errorSchema>

export const listResponseSchema = z.union([
  z.object({ ok: z.literal(true), entries: z.array(remoteVideoSchema).max(MAX_LIST_ENTRIES) }),
  errorSchema
])
export type ListResponse = z.infer<typeof listResponseSchema>

/** The manifest comes as sent: the asker parses it (parseManifest) and verifies it against the id. */
export const manifestResponseSchema = z.union([
  z.object({ ok: z.literal(true), manifest: z.unknown() }),
  errorSchema
])
export type ManifestResponse = z.infer<typeof manifestResponseSchema>

const encoder = new TextEncoder()

export function encodeMessage (message: CatalogueRequest | ListResponse | ManifestResponse | CatalogueError): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/**
 * A list answer of as many of `entries` (in order) as fit: MAX_LIST_ENTRIES
 * and MAX_LIST_BYTES. The rest are left out, never the answer refused.
 */
export function encodeList (entries: readonly RemoteVideo[]): { bytes: Uint8Array, sent: number } {
  const head = '{"ok":true,"entries":['
  const tail = ']}'
  let size = encoder.encode(head + tail).byteLength
  const parts: string[] = []
  for (const entry of entries.slice(0, MAX_LIST_ENTRIES)) {
    const part = JSON.stringify(entry)
    const cost = encoder.encode(part).byteLength + (parts.length > 0 ? 1 : 0)
    if (size + cost > MAX_LIST_BYTES) break
    size += cost
    parts.push(part)
  }
  return { bytes: encoder.encode(head + parts.join(',') + tail), sent: parts.length }
}

export function decodeMessage<T> (bytes: Uint8Array, schema: z.ZodType<T>): T {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    throw new TypeError('Catalogue message is not UTF-8 JSON')
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new TypeError(`Malformed catalogue message: ${parsed.error.issues.slice(0, 5).map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.data
}
