export interface IpcLimits {
  /** A request line, in bytes (the newline not counted). Files travel by path, not inline. */
  maxLineBytes: number
  /** A connection with no request for this long, and nothing under way or subscribed, is closed. */
  idleTimeoutMs: number
  /** Connections at once (TCP and WebSocket each); one more is answered with an error line and closed. */
  maxClients: number
  /** Requests under way on one connection; past it the connection is not read until one finishes. */
  maxPending: number
  /** Bytes queued to a client that does not read; past it the client is dropped (it cannot stall others). */
  maxWriteBuffer: number
}

export const DEFAULT_LIMITS: IpcLimits = {
  maxLineBytes: 1024 * 1024,
  idleTimeoutMs: 30_000,
  maxClients: 64,
  maxPending: 16,
  maxWriteBuffer: 8 * 1024 * 1024
}
