export const PROTOCOL = '/pipbingo/tracker/1.0.0'

/** An announcement lives this long unless renewed; clients renew at half of it. */
export const DEFAULT_TTL_MS = 10 * 60_000

/** A find's answer: 30 providers of up to 16 long addresses, and up to MAX_MEMBERS ids. */
export const MAX_MESSAGE_BYTES = 512 * 1024
export const MAX_ENTRIES_PER_ANNOUNCE = 1000
export const MAX_ENTRIES_PER_PEER = 5000
/** Entries in a registry in all (≈ 150 bytes each: about 15 MB); 20 identities at the per-peer cap fill it. */
export const MAX_ENTRIES = 100_000
export const MAX_ADDRS_PER_PEER = 16
export const MAX_MULTIADDR_LENGTH = 512
export const DEFAULT_FIND_LIMIT = 30
export const MAX_FIND_LIMIT = 100
/**
 * Downloaders' ids a find answer lists at most when asked for the swarm's
 * members (≈ 55 bytes each): every member partitions the origin's chunks
 * among them (swarm/share.ts), so each needs the same whole list, not the
 * addresses of a few.
 */
export const MAX_MEMBERS = 1000
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
