import { MAX_MANIFEST_BYTES } from '../../content/constants'

/** Relay to relay: "what is in your library", "the manifest of this one". */
export const PROTOCOL = '/pipbingo/catalogue/1.0.0'

/** A list answer names at most this many videos (the newest first): a relay with more shares these. */
export const MAX_LIST_ENTRIES = 1000

/**
 * A list answer's bytes at most: 1,000 entries of a 200-character name and
 * title each (up to 3 bytes a character) stay under it.
 */
export const MAX_LIST_BYTES = 2 * 1024 * 1024

/** A manifest answer: the largest manifest (a 64 GiB file) and its envelope. */
export const MAX_MANIFEST_REPLY_BYTES = MAX_MANIFEST_BYTES + 1024

/** A request is a few bytes (a type and a content id). */
export const MAX_REQUEST_BYTES = 1024

/** A title is at most this long (the relay's own titles are; relay/library/titles.ts). */
export const MAX_TITLE_LENGTH = 200

/** Streams one peer may have open to the protocol at once. */
export const MAX_INBOUND_STREAMS = 4

/** A request, or its answer, that takes longer fails. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 20_000
