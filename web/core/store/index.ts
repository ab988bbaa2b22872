export type { ChunkStore } from './types'
export * from './errors'
export { MemoryChunkStore } from './memory-store'
