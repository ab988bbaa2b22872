/**
 * Failures the REST API answers with a status code. Every error reply is
 * JSON `{ "error": message }`. Callers match on `err.name`.
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

export class MethodNotAllowedError extends HttpError {
  static override name = 'MethodNotAllowedError'
  override name = 'MethodNotAllowedError'
  constructor (message = 'Method not allowed') { super(405, message) }
}

export class ConflictError extends HttpError {
  static override name = 'ConflictError'
  override name = 'ConflictError'
  constructor (message = 'Conflict') { super(409, message) }
}

export class UnsupportedMediaTypeError extends HttpError {
  static override name = 'UnsupportedMediaTypeError'
  override name = 'UnsupportedMediaTypeError'
  constructor (message = 'The body must be JSON (Content-Type: application/json)') { super(415, message) }
}

export class RangeNotSatisfiableError extends HttpError {
  static override name = 'RangeNotSatisfiableError'
  override name = 'RangeNotSatisfiableError'
  constructor (message = 'The range is outside the file') { super(416, message) }
}

export class BadGatewayError extends HttpError {
  static override name = 'BadGatewayError'
  override name = 'BadGatewayError'
  constructor (message = 'The relay did not answer') { super(502, message) }
}

export class ServiceUnavailableError extends HttpError {
  static override name = 'ServiceUnavailableError'
  override name = 'ServiceUnavailableError'
  constructor (message = 'Not available yet') { super(503, message) }
}

/**
 * The status and message of any error thrown while answering: ours, the
 * download manager's and the relay client's (by `name`), and express's own
 * (body parsing: `status` and `expose`). Anything else is a 500 whose
 * details stay in the log.
 */
export function describeError (err: unknown): { status: number, message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message }
  const e = err as { name?: unknown, message?: unknown, status?: unknown, statusCode?: unknown, expose?: unknown, type?: unknown } | null
  const message = String(e?.message ?? '')
  switch (e?.name) {
    case 'InvalidFilenameError': return { status: 400, message }
    case 'UnknownVideoError':
    case 'UnknownDownloadError': return { status: 404, message }
    case 'DownloadCompleteError': return { status: 409, message }
    case 'DownloadNotStartedError':
    case 'ManagerStoppedError': return { status: 503, message }
    case 'RelayHttpError':
    case 'ManifestMismatchError': return { status: 502, message }
  }
  if (e?.type === 'entity.parse.failed') return { status: 400, message: `Malformed JSON body: ${message}` }
  if (e?.type === 'entity.too.large') return { status: 413, message: 'The body is too large (64 KiB at most)' }
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500
  if (status >= 400 && status < 500) return { status, message: e?.expose === false ? 'Bad request' : message || 'Bad request' }
  return { status: 500, message: 'Internal server error' }
}
