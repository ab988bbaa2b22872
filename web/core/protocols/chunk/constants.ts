import { MAX_CHUNK_SIZE } from '../../content/constants'

/**
 * 1.1.0 adds pushed have-updates (HAVE_SUBSCRIBE, HAVE_UPDATE) to 1.0.0's
 * frames, which keep their meaning. A 1.0.0 peer would end the stream on a
 * HAVE_SUBSCRIBE, and the swarm no longer polls, so the id changed: peers
 * of different versions fail at negotiation rather than mid-stream. Only
 * 1.1.0 is served (one codebase deploys every peer).
 */
export const PROTOCOL = '/pipbingo/chunk/1.1.0'

/** A frame carries at most one chunk plus a small header. */
export const MAX_FRAME_BYTES = MAX_CHUNK_SIZE + 64

/** Requests a client keeps in flight on one peer's stream (the pipeline depth). */
export const DEFAULT_PIPELINE_DEPTH = 8

/** Chunks the server reads and sends at once for one remote peer, across its streams. */
export const DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER = 4

/** Requests waiting on one stream before the server answers BUSY. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 64

/** HAVE subscriptions one stream may hold at once; past this, HAVE_SUBSCRIBE is answered BUSY. */
export const DEFAULT_MAX_HAVE_SUBSCRIPTIONS = 16

/** Indexes in one HAVE_UPDATE frame (4 KiB); more pending go in the next one. */
export const MAX_HAVE_UPDATE_INDEXES = 1024

/** A request with no answer after this long fails with RequestTimeoutError. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Opening a stream (and dialling if needed). */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000

export const MAX_INBOUND_STREAMS = 16
export const MAX_OUTBOUND_STREAMS = 16
