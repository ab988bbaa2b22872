/** The content model's fixed numbers. */

/** 256 KiB: the chunk size of every manifest this code creates. */
export const CHUNK_SIZE = 256 * 1024

/** Chunk sizes a manifest from elsewhere may use (powers of two in this range). */
export const MIN_CHUNK_SIZE = 16 * 1024
export const MAX_CHUNK_SIZE = 1024 * 1024

/** The largest content we accept: 64 GiB. */
export const MAX_CONTENT_SIZE = 64 * 1024 ** 3

/** The largest manifest, as JSON bytes (a 64 GiB file in 256 KiB chunks is ~17 MiB of hex). */
export const MAX_MANIFEST_BYTES = 20 * 1024 * 1024

/** Length of a filename, in UTF-16 code units. */
export const MAX_FILENAME_LENGTH = 200

/** Content ids are SHA-256 in lower-case hex. */
export const CONTENT_ID_BYTES = 32
export const CONTENT_ID_PATTERN = /^[0-9a-f]{64}$/

/** Domain separation for the content id hash: changing the format means a new tag. */
export const CONTENT_ID_TAG = 'pipbingo/content/v1'
