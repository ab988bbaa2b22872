import { lstat, readdir, readFile } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { chunkCount, contentIdOf, decodeManifest, isContentId, type ContentId, type Manifest } from '@core/content/manifest'
import { Bitfield } from '@core/swarm/bitfield'
import { createSparse, isNotFound, removeIfExists, writeFileAtomic } from './file-io'
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
      if (!await hasSize(partPath, manifest.size)) {
        log('partial %s: %s is missing or resized, starting over', contentId, partPath)
        state.have = new Bitfield(chunkCount(manifest))
        await createSparse(partPath, manifest.size)
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

async function hasSize (path: string, size: number): Promise<boolean> {
  try {
    const stats = await lstat(path)
    return stats.isFile() && stats.size === size
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}
