/**
 * Failures the HTTP app answers with a status code. Every error reply is JSON
 * `{ "error": message }`. Callers match on `err.name`.
 */
export class HttpError extends Error {
  static override name = 'HttpError'
  override name = 'HttpError'
  readonly status: number
  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

export class BadRequestError extends HttpError {
  static override name = 'BadRequestError'
  override name = 'BadRequestError'
  constructor (message = 'Bad request') { super(400, message) }
}

export class ForbiddenError extends HttpError {
  static override name = 'ForbiddenError'
  override name = 'ForbiddenError'
  constructor (message = 'Forbidden') { super(403, message) }
}

export class NotFoundError extends HttpError {
  static override name = 'NotFoundError'
  override name = 'NotFoundError'
  constructor (message = 'Not found') { super(404, message) }
}

export class PayloadTooLargeError extends HttpError {
  static override name = 'PayloadTooLargeError'
  override name = 'PayloadTooLargeError'
  constructor (message = 'The upload is larger than allowed') { super(413, message) }
}

export class UnsupportedMediaTypeError extends HttpError {
  static override name = 'UnsupportedMediaTypeError'
  override name = 'UnsupportedMediaTypeError'
  constructor (message = 'This type of file is not accepted') { super(415, message) }
}

export class RangeNotSatisfiableError extends HttpError {
  static override name = 'RangeNotSatisfiableError'
  override name = 'RangeNotSatisfiableError'
  constructor (message = 'The range is outside the file') { super(416, message) }
}

/** A client past one of its quotas; `retryAfterSeconds` goes out as `Retry-After`. */
export class TooManyRequestsError extends HttpError {
  static override name = 'TooManyRequestsError'
  override name = 'TooManyRequestsError'
  readonly retryAfterSeconds: number
  constructor (message = 'Too many requests', retryAfterSeconds = 60) {
    super(429, message)
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds))
  }
}

/** The relay has no room left for what was sent (its disk budget, or its disk). */
export class InsufficientStorageError extends HttpError {
  static override name = 'InsufficientStorageError'
  override name = 'InsufficientStorageError'
  constructor (message = 'The server has no room for this') { super(507, message) }
}

export class ServiceUnavailableError extends HttpError {
  static override name = 'ServiceUnavailableError'
  override name = 'ServiceUnavailableError'
  constructor (message = 'Not available') { super(503, message) }
}

/** The client went away before its request body was complete. */
export class ClientAbortedError extends Error {
  static override name = 'ClientAbortedError'
  override name = 'ClientAbortedError'
  constructor (message = 'The client aborted the request') { super(message) }
}
