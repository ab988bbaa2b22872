export const PROTOCOL = '/pipbingo/chat/1.0.0'

/** A file chunk travels in one frame: at most this many bytes of file data per frame. */
export const MAX_CHUNK_SIZE = 1024 * 1024
export const MIN_CHUNK_SIZE = 256
export const DEFAULT_CHUNK_SIZE = 64 * 1024

/** A frame: header, a chunk, and the AEAD's nonce and tag, with room to spare. */
export const MAX_FRAME_BYTES = MAX_CHUNK_SIZE + 1024

/** A control frame (hello, message, offer, keys, ack, error) is JSON and smaller than this. */
export const MAX_CONTROL_BYTES = 320 * 1024

/** A chat message, UTF-8. */
export const MAX_MESSAGE_BYTES = 256 * 1024

/** A display name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 64

/** The largest file a peer may send us unless configured otherwise: 16 GiB. */
export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 ** 3

/** The sender keeps at most this many file bytes unacknowledged (flow control above yamux). */
export const FILE_WINDOW_BYTES = 4 * 1024 * 1024

/** The receiver acknowledges progress every this many bytes (and at the end). */
export const FILE_ACK_EVERY_BYTES = 1024 * 1024

/** Hello, message, key negotiation: the whole exchange. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** A file transfer fails when no frame arrives for this long. */
export const FILE_IDLE_TIMEOUT_MS = 30_000

/** Message ids remembered per peer to deliver each message once. */
export const SEEN_MESSAGE_IDS = 1024

export const MAX_INBOUND_STREAMS = 32
export const MAX_OUTBOUND_STREAMS = 32
