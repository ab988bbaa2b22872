import type { ChunkStore } from '@core/store/types'
import { Bitfield } from '@core/swarm/bitfield'

/**
 * The cache as a SwarmSession sees it: the same store, except that `have()`
 * returns a bitfield that owns its bytes.
 *
 * Why: a bitfield FsChunkStore loads from a state file is built over a Node
 * Buffer, and `Bitfield` copies its bytes with `.slice()`, which on a Buffer
 * is a view, not a copy. Every `clone()` of it then shares memory with the
 * store's own bitfield: the store setting a bit changes the session's
 * without its count, so a resumed download never sees itself complete.
 * The root fix is one line in `web/core/swarm/bitfield.ts`
 * (`new Uint8Array(bytes)` instead of `bytes.slice()`); until then the
 * bridge copies here.
 */
export function sessionStore (store: ChunkStore): ChunkStore {
  return {
    putManifest: async (manifest, options) => await store.putManifest(manifest, options),
    getManifest: async (contentId, options) => await store.getManifest(contentId, options),
    listContents: async (options) => await store.listContents(options),
    putChunk: async (contentId, index, data, options) => { await store.putChunk(contentId, index, data, options) },
    getChunk: async (contentId, index, options) => await store.getChunk(contentId, index, options),
    have: async (contentId, options) => {
      const have = await store.have(contentId, options)
      return have == null ? undefined : new Bitfield(have.length, new Uint8Array(have.toBytes()))
    },
    deleteContent: async (contentId, options) => { await store.deleteContent(contentId, options) }
  }
}
