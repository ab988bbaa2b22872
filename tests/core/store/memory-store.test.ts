import { MemoryChunkStore } from '@core/store/memory-store'
import { chunkStoreCompliance } from './compliance'

chunkStoreCompliance('MemoryChunkStore', async () => ({
  store: new MemoryChunkStore(),
  cleanup: async () => {}
}))
