import { createCipheriv, createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { MiB } from './stats'

const PIECE = 4 * MiB

/**
 * Write `size` pseudo-random bytes to `path`, streaming (one 4 MiB piece in
 * memory at a time): an AES-128-CTR key stream with a key derived from
 * `seed`, so the same seed gives the same bytes, and video-like data that no
 * layer can compress. Returns the SHA-256 of what was written, in hex.
 */
export async function writePseudoRandomFile (path: string, size: number, seed: number): Promise<string> {
  const key = createHash('sha256').update(`pipbingo-bench-${seed}`).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(PIECE)
  const hash = createHash('sha256')
  const handle = await open(path, 'wx')
  try {
    for (let written = 0; written < size;) {
      const n = Math.min(PIECE, size - written)
      const piece = cipher.update(n === PIECE ? zeros : zeros.subarray(0, n))
      hash.update(piece)
      for (let off = 0; off < piece.byteLength;) {
        const { bytesWritten } = await handle.write(piece, off, piece.byteLength - off, written + off)
        off += bytesWritten
      }
      written += n
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

/** SHA-256 of a file, streamed, in hex. */
export async function sha256OfFile (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const piece of createReadStream(path, { highWaterMark: PIECE })) hash.update(piece as Buffer)
  return hash.digest('hex')
}
