export type { ChunkStore } from './types'
export { ChunkListeners, type ChunkListener } from './listeners'
export * from './errors'
export { MemoryChunkStore } from './memory-store'
