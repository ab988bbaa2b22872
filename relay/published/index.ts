export { PublishedCatalogue, type PublishedCatalogueInit, type PublishedEntry, type PublishOptions } from './published'
export { writeFileAtomic } from './atomic-file'
export * from './errors'
