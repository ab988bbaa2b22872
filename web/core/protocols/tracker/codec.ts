import { z } from 'zod'
import { contentIdSchema } from '../../content/manifest'
import { MAX_ADDRS_PER_PEER, MAX_ENTRIES_PER_ANNOUNCE, MAX_FIND_LIMIT, MAX_MEMBERS, MAX_MESSAGE_BYTES, MAX_MULTIADDR_LENGTH } from './constants'

/**
 * /pipbingo/tracker/1.0.0: one request and one response per stream, each a
 * length-prefixed UTF-8 JSON object, validated by these schemas on both ends.
 * The announcing peer is the stream's authenticated remote peer: a peer can
 * only announce itself. An announcement's `addrs` stays for older relays and
 * is ignored: a find's addresses come from the peer's connection and
 * identify (addresses.ts).
 *
 * A find may ask for the swarm's `members` too: the ids of every peer still
 * downloading the content (up to MAX_MEMBERS, the lowest ids, so that every
 * asker gets the same list) and how many there are. A relay that predates
 * the field refuses such a find; one that has it answers older clients,
 * which do not ask, as before.
 */
const addrSchema = z.string().min(1).max(MAX_MULTIADDR_LENGTH)

export const requestSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('announce'),
    entries: z.array(z.strictObject({ contentId: contentIdSchema, complete: z.boolean() })).max(MAX_ENTRIES_PER_ANNOUNCE),
    addrs: z.array(addrSchema).max(MAX_ADDRS_PER_PEER)
  }),
  z.strictObject({
    type: z.literal('withdraw'),
    contentIds: z.array(contentIdSchema).max(MAX_ENTRIES_PER_ANNOUNCE)
  }),
  z.strictObject({
    type: z.literal('find'),
    contentId: contentIdSchema,
    limit: z.number().int().min(1).max(MAX_FIND_LIMIT).optional(),
    members: z.boolean().optional()
  })
])
export type TrackerRequest = z.infer<typeof requestSchema>

const peerIdString = z.string().min(1).max(128)

export const providerSchema = z.strictObject({
  peer: peerIdString,
  addrs: z.array(addrSchema).max(MAX_ADDRS_PER_PEER),
  complete: z.boolean(),
  origin: z.boolean()
})
export type ProviderRecord = z.infer<typeof providerSchema>

export const responseSchema = z.union([
  z.strictObject({ ok: z.literal(true), ttlMs: z.number().int().positive() }),
  z.strictObject({
    ok: z.literal(true),
    providers: z.array(providerSchema).max(MAX_FIND_LIMIT),
    /** When asked: the downloaders' ids (all of them up to MAX_MEMBERS) and their number. */
    members: z.array(peerIdString).max(MAX_MEMBERS).optional(),
    downloaders: z.number().int().nonnegative().optional()
  }),
  z.strictObject({ ok: z.literal(false), error: z.string().max(1000) })
])
export type TrackerResponse = z.infer<typeof responseSchema>

export function encodeMessage (message: TrackerRequest | TrackerResponse): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message))
}

export function decodeMessage<T> (bytes: Uint8Array, schema: z.ZodType<T>): T {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) throw new TypeError('Tracker message too large')
  const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw new TypeError(`Malformed tracker message: ${parsed.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  return parsed.data
}
