import { open } from 'node:fs/promises'

/**
 * The duration of an ISO-BMFF file (MP4, M4V, MOV) from its `moov/mvhd` box, in
 * seconds; undefined when the file is not one, has no usable mvhd, or says the
 * duration is unknown (0 or all ones, as fragmented files do).
 *
 * Only box headers are read: top-level boxes are skipped by their sizes until
 * `moov`, whose children are skipped the same way until `mvhd`. That is a few
 * dozen bytes per box whether `moov` is first (faststart) or after a 4 GB
 * `mdat`, and never more than MAX_BOXES headers.
 */
export async function readMp4Duration (path: string): Promise<number | undefined> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    return await findDuration(async (position, length) => {
      const buffer = new Uint8Array(Math.max(0, Math.min(length, size - position)))
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position)
      return buffer.subarray(0, bytesRead)
    }, size)
  } finally {
    await handle.close()
  }
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Uint8Array>

/** The same walk over any byte source: for tests, and for bytes held in memory. */
export async function findDuration (readAt: ReadAt, size: number): Promise<number | undefined> {
  const moov = await findBox(readAt, 0, size, 'moov')
  if (moov == null) return undefined
  const mvhd = await findBox(readAt, moov.bodyStart, moov.end, 'mvhd')
  if (mvhd == null) return undefined
  return parseMvhd(await readAt(mvhd.bodyStart, Math.min(MVHD_MAX_READ, mvhd.end - mvhd.bodyStart)))
}

/** At most this many box headers are read at one level before giving up. */
const MAX_BOXES = 64
/** version+flags, two times, timescale and duration of a version 1 mvhd. */
const MVHD_MAX_READ = 4 + 8 + 8 + 4 + 8

interface Box { bodyStart: number, end: number }

async function findBox (readAt: ReadAt, start: number, end: number, type: string): Promise<Box | undefined> {
  let position = start
  for (let i = 0; i < MAX_BOXES && position + 8 <= end; i++) {
    const header = await readAt(position, 16)
    if (header.byteLength < 8) return undefined
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength)
    const boxType = String.fromCharCode(...header.subarray(4, 8))
    if (!/^[\x20-\x7e]{4}$/.test(boxType)) return undefined // not a box: not an MP4 file
    let size = view.getUint32(0)
    let headerSize = 8
    if (size === 1) {
      if (header.byteLength < 16) return undefined
      size = Number(view.getBigUint64(8))
      headerSize = 16
    } else if (size === 0) {
      size = end - position // the box runs to the end of its parent
    }
    if (size < headerSize || position + size > end) return undefined
    if (boxType === type) return { bodyStart: position + headerSize, end: position + size }
    position += size
  }
  return undefined
}

/** Duration in seconds from the body of an `mvhd` box (a full box). */
export function parseMvhd (body: Uint8Array): number | undefined {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength)
  if (body.byteLength < 4) return undefined
  const version = view.getUint8(0)
  let timescale: number
  let duration: number
  if (version === 0) {
    if (body.byteLength < 20) return undefined
    timescale = view.getUint32(12)
    const raw = view.getUint32(16)
    if (raw === 0xffffffff) return undefined
    duration = raw
  } else if (version === 1) {
    if (body.byteLength < 32) return undefined
    timescale = view.getUint32(20)
    const raw = view.getBigUint64(24)
    if (raw === 0xffffffffffffffffn) return undefined
    duration = Number(raw)
  } else {
    return undefined
  }
  if (timescale === 0 || duration === 0) return undefined
  return duration / timescale
}
