export { PublishedCatalogue, type PublishedCatalogueInit, type PublishedEntry, type PublishOptions } from './published'
export { writeFileAtomic } from './atomic-file'
export { createHolderCheck, type HolderCheck, type HolderCheckInit, DEFAULT_HOLDER_SAMPLES, DEFAULT_HOLDER_CHECK_TIMEOUT_MS } from './holder-check'
export * from './errors'
