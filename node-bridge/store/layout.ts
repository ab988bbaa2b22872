import { mkdir, readdir } from 'node:fs/promises'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { checkFilename } from '@core/content/filename'
import { InvalidFilenameError } from '@core/content/errors'
import { isContentId, type ContentId } from '@core/content/manifest'
import { removeIfExists } from './file-io'

export const PART_SUFFIX = '.part'

/** `<target>.<uuid>.tmp`, as writeFileAtomic names them. */
const TEMPORARY = /\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/

/**
 * Where things live in a store folder:
 *
 *     dir/<filename>                               complete files
 *     dir/<filename>.part                          partial downloads
 *     dir/.pipbingo/manifests/<contentId>.json     manifests
 *     dir/.pipbingo/state/<contentId>.bitfield     have-bitfields of partials
 *     dir/.pipbingo/scan-cache.json                filename + size + mtime → content id
 *     dir/.pipbingo/in-use                         while a store has the folder open (see InUseMarker)
 *
 * Every name that becomes a path goes through `fileFor`/`partFor`, which
 * refuse what `checkFilename` refuses and anything that would resolve outside
 * `dir`.
 */
export class StoreLayout {
  readonly dir: string
  readonly metaDir: string
  readonly manifestsDir: string
  readonly stateDir: string
  readonly scanCachePath: string
  readonly inUsePath: string

  constructor (dir: string) {
    this.dir = resolve(dir)
    this.metaDir = join(this.dir, '.pipbingo')
    this.manifestsDir = join(this.metaDir, 'manifests')
    this.stateDir = join(this.metaDir, 'state')
    this.scanCachePath = join(this.metaDir, 'scan-cache.json')
    this.inUsePath = join(this.metaDir, 'in-use')
  }

  /** Create the folders, and drop the temporary files of ours (see writeFileAtomic) a crash left behind. */
  async prepare (): Promise<void> {
    await mkdir(this.manifestsDir, { recursive: true })
    await mkdir(this.stateDir, { recursive: true })
    for (const folder of [this.metaDir, this.manifestsDir, this.stateDir]) {
      for (const name of await readdir(folder)) {
        if (!TEMPORARY.test(name)) continue
        if (folder !== this.metaDir || name.startsWith('scan-cache.json.')) await removeIfExists(join(folder, name))
      }
    }
  }

  /** The absolute path of complete file `name`, after checking the name. */
  fileFor (name: string): string {
    return this.inside(checkFilename(name))
  }

  /** The absolute path of the partial download of `name`. */
  partFor (name: string): string {
    return this.inside(checkFilename(name) + PART_SUFFIX)
  }

  manifestPath (contentId: ContentId): string {
    return join(this.manifestsDir, `${checkContentId(contentId)}.json`)
  }

  statePath (contentId: ContentId): string {
    return join(this.stateDir, `${checkContentId(contentId)}.bitfield`)
  }

  private inside (name: string): string {
    const path = resolve(this.dir, name)
    const rel = relative(this.dir, path)
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.includes(sep)) {
      throw new InvalidFilenameError(`Invalid filename: "${name}" resolves outside the store folder`)
    }
    return path
  }
}

function checkContentId (contentId: ContentId): ContentId {
  if (!isContentId(contentId)) throw new TypeError('not a content id')
  return contentId
}
