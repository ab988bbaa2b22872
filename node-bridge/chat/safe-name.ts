/** Windows' reserved device names: never a file name, whatever the extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i
const MAX_NAME_BYTES = 180

/**
 * A file name for the receive folder from whatever a sender claims: its last
 * path segment only (both `/` and `\` separate), no control or reserved
 * characters, no leading dots (so never `.`, `..` or a hidden file), no
 * Windows device name, at most 180 UTF-8 bytes with the extension kept.
 * Never empty: `file` when nothing is left.
 */
export function safeFileName (claimed: string): string {
  const segment = claimed.split(/[/\\]/).pop() ?? ''
  let name = segment
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*\u202a-\u202e\u2066-\u2069]/g, '_')
    .replace(/^[\s.]+/, '')
    .replace(/[\s.]+$/, '')
  if (RESERVED.test(name)) name = `_${name}`
  name = truncate(name)
  return name === '' ? 'file' : name
}

function truncate (name: string): string {
  const bytes = (s: string): number => new TextEncoder().encode(s).byteLength
  if (bytes(name) <= MAX_NAME_BYTES) return name
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
  let stem = name.slice(0, name.length - ext.length)
  while (stem.length > 0 && bytes(stem + ext) > MAX_NAME_BYTES) stem = [...stem].slice(0, -1).join('')
  return stem + ext
}

/** `name.ext`, 2 → `name (2).ext` */
export function numberedName (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`
}
