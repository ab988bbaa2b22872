import { MAX_CHUNK_SIZE } from '../../content/constants'

export const PROTOCOL = '/pipbingo/chunk/1.0.0'

/** A frame carries at most one chunk plus a small header. */
export const MAX_FRAME_BYTES = MAX_CHUNK_SIZE + 64

/** Requests a client keeps in flight on one peer's stream (the pipeline depth). */
export const DEFAULT_PIPELINE_DEPTH = 8

/** Chunks the server reads and sends at once for one remote peer, across its streams. */
export const DEFAULT_MAX_CONCURRENT_UPLOADS_PER_PEER = 4

/** Requests waiting on one stream before the server answers BUSY. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 64

/** A request with no answer after this long fails with RequestTimeoutError. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Opening a stream (and dialling if needed). */
export const DEFAULT_OPEN_TIMEOUT_MS = 10_000

export const MAX_INBOUND_STREAMS = 16
export const MAX_OUTBOUND_STREAMS = 16
