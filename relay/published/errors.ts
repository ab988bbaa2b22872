/** Failures of the catalogue of browser-published videos. Callers match on `err.name`. */

export class PublishedCatalogueFullError extends Error {
  static override name = 'PublishedCatalogueFullError'
  override name = 'PublishedCatalogueFullError'
  constructor (message = 'The relay lists as many published videos as it may') { super(message) }
}
