/** The other relay answered `{ ok: false }`: it refused (unknown content, rate-limited, bad request). */
export class CatalogueRequestError extends Error {
  static override name = 'CatalogueRequestError'
  override name = 'CatalogueRequestError'
  constructor (message = 'The other relay refused the catalogue request') { super(message) }
}

/** No answer: the stream could not be opened, broke, timed out, or the answer was too large or malformed. */
export class CatalogueUnreachableError extends Error {
  static override name = 'CatalogueUnreachableError'
  override name = 'CatalogueUnreachableError'
  constructor (message = 'The other relay did not answer the catalogue request') { super(message) }
}
