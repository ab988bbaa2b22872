import { fromBase64 } from '@core/protocols/chat/base64'
import { InvalidKeyError } from './errors'

export { toBase64, fromBase64 } from '@core/protocols/chat/base64'

/** Strict base64 → bytes, or InvalidKeyError naming the field. */
export function decodeKey (field: string, value: string): Uint8Array {
  const bytes = fromBase64(value)
  if (bytes == null || bytes.byteLength === 0) throw new InvalidKeyError(`Invalid ${field}: not base64`)
  return bytes
}
