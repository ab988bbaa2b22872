import { MAX_FILENAME_LENGTH } from './constants'
import { InvalidFilenameError } from './errors'

/**
 * A filename is a label in the catalogue, never a path. These are refused:
 * empty, over MAX_FILENAME_LENGTH, `/`, `\`, NUL and other control
 * characters, `.` and `..` (and any name that starts with a dot, so hidden
 * files and our own `.pipbingo` folder are never addressed), names with
 * leading or trailing spaces, and names that contain `..`.
 *
 * Percent-encoding is not decoded here: the HTTP layer decodes once, and a
 * name that still contains `%2f` after that is just a strange but harmless
 * label — unless it decodes into something refused, which the router has
 * already done.
 */
export function checkFilename (name: unknown): string {
  if (typeof name !== 'string') throw new InvalidFilenameError('The filename must be a string')
  const reason = filenameProblem(name)
  if (reason != null) throw new InvalidFilenameError(`Invalid filename: ${reason}`)
  return name
}

export function isValidFilename (name: unknown): name is string {
  return typeof name === 'string' && filenameProblem(name) == null
}

function filenameProblem (name: string): string | undefined {
  if (name.length === 0) return 'it is empty'
  if (name.length > MAX_FILENAME_LENGTH) return `it is longer than ${MAX_FILENAME_LENGTH} characters`
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return 'it contains a control character'
  if (/[/\\]/.test(name)) return 'it contains a path separator'
  if (name.includes('..')) return 'it contains ".."'
  if (name.startsWith('.')) return 'it starts with a dot'
  if (name.trim() !== name) return 'it starts or ends with white space'
  if (/[\u2028\u2029\ufeff]/.test(name)) return 'it contains an invisible separator'
  return undefined
}
