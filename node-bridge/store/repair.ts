import { rename, truncate } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { checkChunks } from './check-file'
import type { ContentTable, Entry } from './contents'
import { writeFileAtomic } from './file-io'
import { stampOf } from './hash-file'
import type { StoreLayout } from './layout'
import type { ReadHandles } from './read-handles'
import type { ScanCache } from './scan-cache'
import { encodeState } from './state-file'
import type { DamageEvent } from './types'

export interface RepairContext {
  layout: StoreLayout
  contents: ContentTable
  cache: ScanCache
  readers: ReadHandles
  log: Logger
  onDamaged?(event: DamageEvent): void | Promise<void>
}

/**
 * A complete file no longer matches its manifest (a chunk failed at a read,
 * or the file changed while the store was closed): check every chunk, and
 * unless all match, make it a partial download again holding the chunks
 * that do — the state file first, then the file truncated to the manifest's
 * size and renamed to `.part` — so the lost ones are fetched again
 * (`onDamaged`, awaited). Its other names, if any, are forgotten (the next
 * scan finds them again). A file that matches after all (changed back, or
 * only touched) stays complete, its new size and mtime remembered. The
 * caller runs this on the store's meta queue, or while loading.
 */
export async function reopenDamaged (ctx: RepairContext, entry: Entry, cause: DamageEvent['cause']): Promise<void> {
  const { layout, contents, cache } = ctx
  const { contentId, manifest, filename } = entry
  const path = layout.fileFor(filename)
  const good = await checkChunks(path, manifest)
  const lost: number[] = []
  for (let i = 0; i < good.length; i++) if (!good.has(i)) lost.push(i)
  if (lost.length === 0) {
    entry.have = good
    const stamp = await stampOf(path)
    if (stamp != null) cache.set(filename, stamp, contentId)
    await cache.save()
    return
  }
  await writeFileAtomic(layout.statePath(contentId), encodeState({ filename, have: good }))
  await ctx.readers.forget(path)
  await truncate(path, manifest.size)
  await rename(path, layout.partFor(filename))
  for (const name of contents.namesOf(contentId)) {
    contents.unname(name)
    cache.delete(name)
  }
  Object.assign(entry, { complete: false, have: good, verified: undefined })
  await cache.save()
  ctx.log.error('%s (%s) is damaged: %d chunk(s) of %d do not match, fetching them again', filename, contentId, lost.length, good.length)
  await ctx.onDamaged?.({ contentId, filename, cause, lost, kept: good.count() })
}
