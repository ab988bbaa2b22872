import { MAX_FILENAME_LENGTH } from './constants'
import { InvalidFilenameError } from './errors'

/**
 * A filename is a label in the catalogue, never a path. These are refused:
 * empty, over MAX_FILENAME_LENGTH, `/`, `\`, NUL and other control
 * characters, `.` and `..` (and any name that starts with a dot, so hidden
 * files and our own `.pipbingo` folder are never addressed), names with
 * leading or trailing spaces, names that contain `..`, and names with
 * bidirectional control characters.
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
  if (BIDI_CONTROL.test(name)) return 'it contains a bidirectional control character (it could make the name read differently from what it is)'
  return undefined
}

/**
 * Unicode's bidirectional formatting characters (embeddings, overrides,
 * isolates, marks): a right-to-left override turns `clip\u202Eexe.mp4` into
 * what reads as `clipp4m.exe`. A name is a label shown to people, so none of
 * these is allowed in one.
 */
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/**
 * The form a name is listed under: Unicode NFC (so `é` typed as one code
 * point or as `e` + accent is the same name), then checked as checkFilename does.
 */
export function normalizeFilename (name: unknown): string {
  if (typeof name !== 'string') throw new InvalidFilenameError('The filename must be a string')
  return checkFilename(name.normalize('NFC'))
}

/** The key two names collide on in a catalogue: NFC, then case-folded (`Sample.MP4` is `sample.mp4`). */
export function filenameKey (name: string): string {
  return name.normalize('NFC').toLowerCase()
}
