/**
 * A copy of some bytes that owns its memory. `Uint8Array.prototype.slice`
 * copies, but Node's `Buffer#slice` is a view of the same memory: code that
 * may be handed a Buffer copies with this instead.
 */
export function copyBytes (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}
