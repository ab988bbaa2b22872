export { IdbChunkStore, DEFAULT_CAP_BYTES } from './idb-store'
export type { IdbChunkStoreInit, StoreUsage, ContentUsage } from './idb-store'
export { StoreFullError, QuotaExceededError, StoreClosedError, UnknownContentError } from './errors'
