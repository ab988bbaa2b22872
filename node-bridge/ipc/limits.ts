export interface IpcLimits {
  /** A request line, in bytes (the newline not counted). Files travel by path, not inline. */
  maxLineBytes: number
  /** A connection with no request for this long, and nothing under way or subscribed, is closed. */
  idleTimeoutMs: number
  /** A connection that has not sent one whole line this long after it opened is closed (a silent client holds no slot for long). */
  firstLineTimeoutMs: number
  /** A client idle this long may lose its slot to a new one when all are taken (not one that has just connected and is about to write). */
  evictIdleAfterMs: number
  /** Connections at once (TCP and WebSocket each); one more takes the slot of the longest-idle client, or is answered with an error line and closed when every client is busy. */
  maxClients: number
  /** Requests under way on one connection; past it the connection is not read until one finishes. */
  maxPending: number
  /** Bytes queued to a client that does not read; past it the client is dropped (it cannot stall others). */
  maxWriteBuffer: number
}

export const DEFAULT_LIMITS: IpcLimits = {
  maxLineBytes: 1024 * 1024,
  idleTimeoutMs: 30_000,
  firstLineTimeoutMs: 10_000,
  evictIdleAfterMs: 1000,
  maxClients: 64,
  maxPending: 16,
  maxWriteBuffer: 8 * 1024 * 1024
}
