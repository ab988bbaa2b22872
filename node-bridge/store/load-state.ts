import { lstat, open, readdir, readFile } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { chunkCount, chunkRange, contentIdOf, decodeManifest, isContentId, verifyChunk, type ContentId, type Manifest } from '@core/content/manifest'
import { Bitfield } from '@core/swarm/bitfield'
import { createEmpty, isNotFound, readAt, removeIfExists, writeFileAtomic } from './file-io'
import type { StoreLayout } from './layout'
import { decodeState, encodeState } from './state-file'

/** Every manifest in `manifests/` whose file name is its content id; bad ones are removed. */
export async function loadManifests (layout: StoreLayout, log: Logger): Promise<Map<ContentId, Manifest>> {
  const manifests = new Map<ContentId, Manifest>()
  for (const name of await readdir(layout.manifestsDir)) {
    const contentId = name.slice(0, -'.json'.length)
    if (!name.endsWith('.json') || !isContentId(contentId)) continue
    const path = layout.manifestPath(contentId)
    try {
      const manifest = decodeManifest(await readFile(path))
      if (await contentIdOf(manifest) !== contentId) throw new Error('the manifest does not match its file name')
      manifests.set(contentId, manifest)
    } catch (err) {
      log.error('dropping unreadable manifest %s: %s', name, (err as Error).message)
      await removeIfExists(path)
    }
  }
  return manifests
}

export interface LoadedPartial {
  contentId: ContentId
  manifest: Manifest
  filename: string
  have: Bitfield
}

/**
 * The partial downloads: a state file per content with a manifest. A state
 * without a manifest is dropped; a missing or wrongly sized `.part` file
 * means the bitfield cannot be trusted, so the download starts over.
 */
export async function loadPartials (layout: StoreLayout, manifests: Map<ContentId, Manifest>, log: Logger): Promise<LoadedPartial[]> {
  const partials: LoadedPartial[] = []
  for (const name of await readdir(layout.stateDir)) {
    const contentId = name.slice(0, -'.bitfield'.length)
    if (!name.endsWith('.bitfield') || !isContentId(contentId)) continue
    const statePath = layout.statePath(contentId)
    const manifest = manifests.get(contentId)
    try {
      if (manifest == null) throw new Error('no manifest')
      const state = decodeState(await readFile(statePath))
      if (state.have.length !== chunkCount(manifest)) throw new Error('the bitfield does not fit the manifest')
      const partPath = layout.partFor(state.filename)
      if (!await holdsClaims(partPath, manifest, state.have)) {
        log('partial %s: %s is missing or resized, starting over', contentId, partPath)
        state.have = new Bitfield(chunkCount(manifest))
        await createEmpty(partPath)
        await writeFileAtomic(statePath, encodeState(state))
      }
      partials.push({ contentId, manifest, filename: state.filename, have: state.have })
    } catch (err) {
      log.error('dropping partial state %s: %s', name, (err as Error).message)
      await removeIfExists(statePath)
    }
  }
  return partials
}

/**
 * After the machine went down with the store open (see InUseMarker): keep
 * only the claimed chunks whose bytes made it to the disk, checking each
 * against its hash, and save the bitfield if that dropped any. Returns how
 * many were dropped.
 */
export async function dropLostChunks (layout: StoreLayout, partial: LoadedPartial, log: Logger): Promise<number> {
  const lost: number[] = []
  const handle = await open(layout.partFor(partial.filename), 'r').catch(() => undefined) // unreadable: nothing is kept
  try {
    for (const index of partial.have.indices()) {
      const { start, end } = chunkRange(partial.manifest, index)
      try {
        if (handle == null) throw new Error('no .part')
        await verifyChunk(partial.manifest, index, await readAt(handle, start, end - start))
      } catch {
        lost.push(index)
      }
    }
  } finally {
    await handle?.close()
  }
  if (lost.length === 0) return 0
  for (const index of lost) partial.have.clear(index)
  await writeFileAtomic(layout.statePath(partial.contentId), encodeState({ filename: partial.filename, have: partial.have }))
  log('partial %s: %d claimed chunk(s) did not survive the restart, fetching them again', partial.contentId, lost.length)
  return lost.length
}

/**
 * The `.part` at `path` is a file that reaches past every chunk its bitfield
 * claims and not past the content (it grows as chunks are written: see
 * createEmpty).
 */
async function holdsClaims (path: string, manifest: Manifest, have: Bitfield): Promise<boolean> {
  let last = -1
  for (const index of have.indices()) last = Math.max(last, index)
  const needed = last < 0 ? 0 : chunkRange(manifest, last).end
  try {
    const stats = await lstat(path)
    return stats.isFile() && stats.size >= needed && stats.size <= manifest.size
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}
