import type { ContentId } from '../content/manifest'

/** Told the index of a chunk of one content that a store has just stored. */
export type ChunkListener = (index: number) => void

/**
 * The listeners of a store's `onChunk`, by content: what every ChunkStore
 * implementation keeps to say when a chunk lands. A listener that throws is
 * reported and does not stop the others, nor the put that stored the chunk.
 */
export class ChunkListeners {
  private readonly byContent = new Map<ContentId, Set<ChunkListener>>()

  /** Listen to the chunks of `contentId`; returns the function that stops it. */
  add (contentId: ContentId, listener: ChunkListener): () => void {
    let set = this.byContent.get(contentId)
    if (set == null) {
      set = new Set()
      this.byContent.set(contentId, set)
    }
    // a function of its own, so the same listener added twice is removed once per call
    const entry: ChunkListener = index => { listener(index) }
    set.add(entry)
    return () => {
      const current = this.byContent.get(contentId)
      if (current == null || !current.delete(entry)) return
      if (current.size === 0) this.byContent.delete(contentId)
    }
  }

  /** Chunk `index` of `contentId` is stored now. */
  emit (contentId: ContentId, index: number): void {
    const set = this.byContent.get(contentId)
    if (set == null) return
    for (const listener of [...set]) {
      try {
        listener(index)
      } catch (err) {
        if (typeof globalThis.reportError === 'function') globalThis.reportError(err)
        else console.error(err)
      }
    }
  }
}
