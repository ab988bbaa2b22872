import { MAX_FILENAME_LENGTH } from '@core/content/constants'
import { isValidFilename } from '@core/content/filename'
import { exists } from './file-io'
import { PART_SUFFIX, type StoreLayout } from './layout'
import { NoFreeFilenameError } from './errors'

export interface ChooseFilenameOptions {
  /** Names already promised to a content of this store (compared without case). */
  isReserved(name: string): boolean
  /** Also require `<name>.part` to be free (when the name is for a new partial). */
  needPart: boolean
}

const MAX_TRIES = 1000

/**
 * A local filename for `wanted` that nothing else uses: `wanted` itself, else
 * `name (1).ext`, `name (2).ext`, ... A name ending in `.part` becomes
 * `_part`, since `.part` files are partial downloads and are never scanned.
 */
export async function chooseFilename (layout: StoreLayout, wanted: string, options: ChooseFilenameOptions): Promise<string> {
  const base = wanted.toLowerCase().endsWith(PART_SUFFIX) ? `${wanted.slice(0, -PART_SUFFIX.length)}_part` : wanted
  for (let n = 0; n < MAX_TRIES; n++) {
    const candidate = n === 0 ? base : numbered(base, n)
    if (!isValidFilename(candidate) || options.isReserved(candidate)) continue
    if (await exists(layout.fileFor(candidate))) continue
    if (options.needPart && await exists(layout.partFor(candidate))) continue
    return candidate
  }
  throw new NoFreeFilenameError(`No free filename for "${wanted}"`)
}

/** `video.mp4`, 2 → `video (2).mp4`, shortening the stem to stay within the length limit. */
export function numbered (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  const hasExt = dot > 0 && name.length - dot <= 16
  const stem = hasExt ? name.slice(0, dot) : name
  const ext = hasExt ? name.slice(dot) : ''
  const suffix = ` (${n})`
  const room = MAX_FILENAME_LENGTH - suffix.length - ext.length
  return `${stem.slice(0, Math.max(1, room)).trimEnd()}${suffix}${ext}`
}
