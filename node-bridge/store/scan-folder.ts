import { readdir } from 'node:fs/promises'
import type { Logger } from '@libp2p/interface'
import { isValidFilename } from '@core/content/filename'
import type { ContentId, Manifest } from '@core/content/manifest'
import { hashFile, stampOf } from './hash-file'
import { PART_SUFFIX, type StoreLayout } from './layout'
import type { FileStamp, ScanCache } from './scan-cache'
import type { ScanProgress } from './types'

export interface ScannedFile {
  filename: string
  stamp: FileStamp
  contentId: ContentId
  manifest: Manifest
  hashed: boolean
  /** A known file whose size or mtime moved: its manifest is the one it had, to be checked (with `repair`). */
  changed?: boolean
}

export interface ScanFolderOptions {
  layout: StoreLayout
  cache: ScanCache
  /** Manifests already on disk: a cache hit needs its manifest. */
  manifests: Map<ContentId, Manifest>
  /** Hash files the cache does not vouch for (false: only cache hits count). */
  hash: boolean
  chunkSize?: number
  /** A known name whose size or mtime moved keeps its content, to be checked against it (see FsChunkStoreInit.repair). */
  repair?: boolean
  log: Logger
  onProgress?(event: ScanProgress): void
  signal?: AbortSignal
}

export interface ScanResult {
  files: ScannedFile[]
  /** Every candidate name in the folder, known or not. */
  present: Set<string>
}

/**
 * Look at every complete regular file directly in the folder (not dot-files,
 * not `*.part`, not folders or links, not names `checkFilename` refuses) and
 * find its content id: from the scan cache when size and mtime match, else by
 * hashing it, streaming. With `repair`, a name the cache knows whose size or
 * mtime moved keeps its content id (`changed`): the store checks it against
 * that manifest instead.
 */
export async function scanFolder (options: ScanFolderOptions): Promise<ScanResult> {
  const { layout, cache, manifests, log } = options
  const names = (await readdir(layout.dir, { withFileTypes: true }))
    .filter(d => d.isFile() && isCandidate(d.name))
    .map(d => d.name)
    .sort()
  options.onProgress?.({ type: 'scan-start', files: names.length })

  const files: ScannedFile[] = []
  for (const filename of names) {
    options.signal?.throwIfAborted()
    const path = layout.fileFor(filename)
    const stamp = await stampOf(path)
    if (stamp == null) continue

    const cachedId = cache.lookup(filename, stamp)
    const cachedManifest = cachedId != null ? manifests.get(cachedId) : undefined
    if (cachedId != null && cachedManifest != null) {
      files.push({ filename, stamp, contentId: cachedId, manifest: cachedManifest, hashed: false })
      options.onProgress?.({ type: 'file-cached', filename, contentId: cachedId })
      continue
    }
    // a file the store had under this name changed behind its back: damaged content, not a new one
    const known = cache.get(filename)
    const knownManifest = known != null ? manifests.get(known.contentId) : undefined
    if (options.repair === true && known != null && knownManifest != null) {
      files.push({ filename, stamp, contentId: known.contentId, manifest: knownManifest, hashed: false, changed: true })
      continue
    }
    if (!options.hash) continue

    try {
      const hashed = await hashFile(path, filename, {
        chunkSize: options.chunkSize,
        signal: options.signal,
        onProgress: p => options.onProgress?.({ type: 'file-hashing', filename, bytesHashed: p.bytesHashed, totalBytes: stamp.size })
      })
      const { contentId } = hashed
      files.push({ filename, stamp: hashed.stamp, contentId, manifest: manifests.get(contentId) ?? hashed.manifest, hashed: true })
      options.onProgress?.({ type: 'file-hashed', filename, contentId })
    } catch (err) {
      options.signal?.throwIfAborted()
      log('not adding %s: %s', filename, (err as Error).message)
      options.onProgress?.({ type: 'file-skipped', filename, reason: (err as Error).message })
    }
  }
  return { files, present: new Set(names) }
}

function isCandidate (name: string): boolean {
  return !name.startsWith('.') && !name.toLowerCase().endsWith(PART_SUFFIX) && isValidFilename(name)
}
