/**
 * Standard base64 (RFC 4648, with padding), strict: whatever `atob` would
 * silently accept — whitespace, missing padding, a URL-safe alphabet — is refused.
 * Web APIs only, so browser, service worker and Node share it.
 */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function toBase64 (bytes: Uint8Array): string {
  let text = ''
  for (let i = 0; i < bytes.byteLength; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(text)
}

/** The bytes of `text`, or undefined when it is not strict base64. */
export function fromBase64 (text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}
