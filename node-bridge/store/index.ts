export { FsChunkStore } from './fs-store'
export * from './errors'
export type { AddedFile, AddFileOptions, CorruptionEvent, DamageEvent, FsChunkStoreInit, ScanProgress } from './types'
