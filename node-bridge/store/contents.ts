import type { ContentId, Manifest } from '@core/content/manifest'
import type { Bitfield } from '@core/swarm/bitfield'
import type { SharedFile } from './shared-file'

/** What the store knows of one content, in memory. */
export interface Entry {
  contentId: ContentId
  manifest: Manifest
  /** The complete file's name, or for a partial the name it will get (data in `<filename>.part`). */
  filename: string
  complete: boolean
  have: Bitfield
  /** Chunk writes under way, by index: a second put of the same chunk joins the first. */
  writes: Map<number, Promise<void>>
  /** A state write that has not started yet, shared by every chunk that asks for one meanwhile. */
  persisting?: Promise<void>
  /** The partial's `.part`, open for writing from its first chunk until it completes or is deleted. */
  part?: SharedFile
  /**
   * The chunks read back from disk and found to match the manifest, while
   * the file had `identity` (see identityOf): read again under the same
   * identity, they are not hashed again. Another identity starts afresh.
   */
  verified?: { identity: string, chunks: Bitfield }
  /** A complete file found damaged being checked and made a partial again (FsChunkStore.reopen). */
  reopening?: Promise<void>
  deleted: boolean
}

export function newEntry (contentId: ContentId, manifest: Manifest, filename: string, have: Bitfield, complete = false): Entry {
  return { contentId, manifest, filename, complete, have, writes: new Map(), deleted: false }
}

/**
 * The contents of a store by id, and its complete files by name. Two files
 * with the same bytes are one content under two names; the entry's
 * `filename` is the one it is served from.
 */
export class ContentTable {
  private readonly entries = new Map<ContentId, Entry>()
  private readonly byName = new Map<string, ContentId>()

  get (contentId: ContentId): Entry | undefined {
    return this.entries.get(contentId)
  }

  has (contentId: ContentId): boolean {
    return this.entries.has(contentId)
  }

  add (entry: Entry): void {
    this.entries.set(entry.contentId, entry)
    if (entry.complete) this.byName.set(entry.filename, entry.contentId)
  }

  /** Forget a content (marking its entry deleted, for work still under way); returns its complete files' names. */
  remove (contentId: ContentId): string[] {
    const entry = this.entries.get(contentId)
    if (entry != null) entry.deleted = true
    this.entries.delete(contentId)
    const names = this.namesOf(contentId)
    for (const name of names) this.byName.delete(name)
    return names
  }

  ids (): ContentId[] {
    return [...this.entries.keys()]
  }

  values (): Entry[] {
    return [...this.entries.values()]
  }

  /** `name` is a complete file holding `contentId`. */
  name (name: string, contentId: ContentId): void {
    this.byName.set(name, contentId)
  }

  /** `name` no longer holds its content; returns the content id it held. */
  unname (name: string): ContentId | undefined {
    const contentId = this.byName.get(name)
    this.byName.delete(name)
    return contentId
  }

  namesOf (contentId: ContentId): string[] {
    return [...this.byName].filter(([, id]) => id === contentId).map(([name]) => name)
  }

  /** The content under a local filename: complete files first, then partials. */
  idOfName (name: string): ContentId | undefined {
    const complete = this.byName.get(name)
    if (complete != null) return complete
    return this.values().find(e => !e.complete && e.filename === name)?.contentId
  }

  /** Is `name` (compared without case) a complete file or promised to a partial other than `self`? */
  isReserved (name: string, self?: Entry): boolean {
    const lower = name.toLowerCase()
    for (const taken of this.byName.keys()) if (taken.toLowerCase() === lower) return true
    return this.values().some(e => e !== self && !e.complete && e.filename.toLowerCase() === lower)
  }
}
