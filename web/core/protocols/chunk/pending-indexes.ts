/**
 * Chunk indexes waiting to be pushed to one subscriber: a set over
 * [0, length), one bit per chunk. Whatever lands while the subscriber does
 * not read costs at most `length / 8` bytes, never more however long it
 * waits (an index pending twice is pending once), and is taken in
 * ascending order.
 */
export class PendingIndexes {
  private readonly bits: Uint8Array
  private count = 0
  /** No index below this one is pending. */
  private low: number

  constructor (readonly length: number) {
    this.bits = new Uint8Array(Math.ceil(length / 8))
    this.low = length
  }

  get size (): number {
    return this.count
  }

  /** False when `index` is outside [0, length) or already pending. */
  add (index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return false
    const mask = 0x80 >> (index & 7)
    const byte = this.bits[index >> 3] as number
    if ((byte & mask) !== 0) return false
    this.bits[index >> 3] = byte | mask
    this.count++
    if (index < this.low) this.low = index
    return true
  }

  /** Remove and return up to `max` pending indexes, lowest first. */
  take (max: number): number[] {
    const out: number[] = []
    let i = this.low
    while (out.length < max && this.count > 0 && i < this.length) {
      const at = i >> 3
      const byte = this.bits[at] as number
      if (byte === 0) {
        i = (at + 1) * 8 // a whole byte with nothing pending
        continue
      }
      const mask = 0x80 >> (i & 7)
      if ((byte & mask) !== 0) {
        this.bits[at] = byte & ~mask
        this.count--
        out.push(i)
      }
      i++
    }
    this.low = this.count === 0 ? this.length : i
    return out
  }
}
