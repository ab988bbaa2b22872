import { copyBytes } from '../util/bytes'

/**
 * Which chunks of a content someone holds: one bit per chunk, most significant
 * bit first within a byte (chunk 0 is 0x80 of byte 0), as in BitTorrent.
 */
export class Bitfield {
  readonly length: number
  private readonly bytes: Uint8Array
  private ones = 0

  constructor (length: number, bytes?: Uint8Array) {
    if (!Number.isInteger(length) || length < 0) throw new RangeError('Bitfield length must be a non-negative integer')
    this.length = length
    const size = Bitfield.byteLengthFor(length)
    if (bytes != null) {
      if (bytes.byteLength !== size) throw new RangeError(`A bitfield of ${length} bits has ${size} bytes, got ${bytes.byteLength}`)
      this.bytes = copyBytes(bytes)
      // spare bits past the end must be zero, so two encodings of one set are equal
      const spare = size * 8 - length
      if (spare > 0 && ((this.bytes[size - 1] as number) & ((1 << spare) - 1)) !== 0) {
        throw new RangeError('A bitfield has bits set past its length')
      }
      for (const b of this.bytes) this.ones += popcount(b)
    } else {
      this.bytes = new Uint8Array(size)
    }
  }

  static byteLengthFor (length: number): number {
    return Math.ceil(length / 8)
  }

  static full (length: number): Bitfield {
    const field = new Bitfield(length)
    for (let i = 0; i < length; i++) field.set(i)
    return field
  }

  has (index: number): boolean {
    if (index < 0 || index >= this.length) return false
    return (((this.bytes[index >> 3] as number) >> (7 - (index & 7))) & 1) === 1
  }

  set (index: number): void {
    this.check(index)
    if (this.has(index)) return
    this.bytes[index >> 3] = (this.bytes[index >> 3] as number) | (0x80 >> (index & 7))
    this.ones++
  }

  clear (index: number): void {
    this.check(index)
    if (!this.has(index)) return
    this.bytes[index >> 3] = (this.bytes[index >> 3] as number) & ~(0x80 >> (index & 7))
    this.ones--
  }

  /** How many bits are set. */
  count (): number {
    return this.ones
  }

  isComplete (): boolean {
    return this.ones === this.length
  }

  /** A copy of the bytes, for the wire or for storage. */
  toBytes (): Uint8Array {
    return this.bytes.slice()
  }

  clone (): Bitfield {
    return new Bitfield(this.length, this.bytes)
  }

  * indices (): Generator<number> {
    for (let i = 0; i < this.length; i++) if (this.has(i)) yield i
  }

  private check (index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`Bit ${index} is outside a bitfield of ${this.length}`)
    }
  }
}

function popcount (b: number): number {
  b = b - ((b >> 1) & 0x55)
  b = (b & 0x33) + ((b >> 2) & 0x33)
  return (b + (b >> 4)) & 0x0f
}
