export { FsChunkStore } from './fs-store'
export * from './errors'
export type { AddedFile, AddFileOptions, CorruptionEvent, FsChunkStoreInit, ScanProgress } from './types'
