export const PROTOCOL = '/pipbingo/tracker/1.0.0'

/** An announcement lives this long unless renewed; clients renew at half of it. */
export const DEFAULT_TTL_MS = 10 * 60_000

export const MAX_MESSAGE_BYTES = 256 * 1024
export const MAX_ENTRIES_PER_ANNOUNCE = 1000
export const MAX_ENTRIES_PER_PEER = 5000
/** Entries in a registry in all (≈ 150 bytes each: about 15 MB); 20 identities at the per-peer cap fill it. */
export const MAX_ENTRIES = 100_000
export const MAX_ADDRS_PER_PEER = 16
export const MAX_MULTIADDR_LENGTH = 512
export const DEFAULT_FIND_LIMIT = 30
export const MAX_FIND_LIMIT = 100
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
