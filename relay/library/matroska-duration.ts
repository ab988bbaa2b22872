import { open } from 'node:fs/promises'

/** Element ids (with their length-marker bits, as written). */
const EBML = 0x1a45dfa3
const SEGMENT = 0x18538067
const INFO = 0x1549a966
const TIMECODE_SCALE = 0x2ad7b1
const DURATION = 0x4489
/** Segment children that may come before Info: skipped by their sizes. */
const MAX_ELEMENTS = 64
/** Info holds a few small elements: read it whole, up to this. */
const MAX_INFO_BYTES = 64 * 1024

/**
 * The duration of a Matroska or WebM file, in seconds, from
 * `Segment/Info/Duration` (a float, in TimecodeScale units, 1 ms by
 * default); undefined when the file is not one, or gives none (a live
 * stream). Only element headers are read on the way to Info: whatever
 * precedes it (SeekHead, Void, even Clusters) is skipped by its size.
 */
export async function readMatroskaDuration (path: string): Promise<number | undefined> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    const readAt = async (position: number, length: number): Promise<Uint8Array> => {
      const buffer = new Uint8Array(Math.max(0, Math.min(length, size - position)))
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position)
      return buffer.subarray(0, bytesRead)
    }
    return await findDuration(readAt, size)
  } finally {
    await handle.close()
  }
}

export async function findDuration (readAt: (position: number, length: number) => Promise<Uint8Array>, size: number): Promise<number | undefined> {
  const head = await readElementHeader(readAt, 0)
  if (head?.id !== EBML || head.size == null) return undefined
  let position = head.dataStart + head.size
  // the Segment: its size may be "unknown" (all ones); its children follow
  const segment = await readElementHeader(readAt, position)
  if (segment?.id !== SEGMENT) return undefined
  const end = segment.size == null ? size : Math.min(size, segment.dataStart + segment.size)
  position = segment.dataStart
  for (let n = 0; n < MAX_ELEMENTS && position < end; n++) {
    const child = await readElementHeader(readAt, position)
    if (child == null || child.size == null) return undefined
    if (child.id === INFO) return parseInfo(await readAt(child.dataStart, Math.min(child.size, MAX_INFO_BYTES)))
    position = child.dataStart + child.size
  }
  return undefined
}

function parseInfo (info: Uint8Array): number | undefined {
  let scale = 1_000_000
  let duration: number | undefined
  for (let position = 0; position < info.byteLength;) {
    const header = parseHeader(info, position)
    if (header == null || header.size == null || header.dataStart + header.size > info.byteLength) break
    const data = info.subarray(header.dataStart, header.dataStart + header.size)
    if (header.id === TIMECODE_SCALE) scale = readUint(data)
    else if (header.id === DURATION) duration = readFloat(data)
    position = header.dataStart + header.size
  }
  if (duration == null || !Number.isFinite(duration) || duration <= 0 || scale <= 0) return undefined
  return duration * scale / 1e9
}

interface Header { id: number, size: number | undefined, dataStart: number }

async function readElementHeader (readAt: (position: number, length: number) => Promise<Uint8Array>, position: number): Promise<Header | undefined> {
  const bytes = await readAt(position, 12)
  const header = parseHeader(bytes, 0)
  return header == null ? undefined : { ...header, dataStart: position + header.dataStart }
}

/** An element's id (1–4 bytes) and size (a 1–8 byte vint; undefined for "unknown"), and where its data starts. */
function parseHeader (bytes: Uint8Array, at: number): Header | undefined {
  const idLength = vintLength(bytes[at])
  if (idLength == null || idLength > 4 || at + idLength > bytes.byteLength) return undefined
  let id = 0
  for (let i = 0; i < idLength; i++) id = id * 256 + bytes[at + i]!
  const sizeAt = at + idLength
  const sizeLength = vintLength(bytes[sizeAt])
  if (sizeLength == null || sizeAt + sizeLength > bytes.byteLength) return undefined
  let value = bytes[sizeAt]! & (0xff >> sizeLength)
  let allOnes = value === (0xff >> sizeLength)
  for (let i = 1; i < sizeLength; i++) {
    const b = bytes[sizeAt + i]!
    value = value * 256 + b
    if (b !== 0xff) allOnes = false
  }
  return { id, size: allOnes ? undefined : value, dataStart: sizeAt + sizeLength }
}

/** How many bytes a vint starting with `first` takes (its leading zero bits + 1). */
function vintLength (first: number | undefined): number | undefined {
  if (first == null || first === 0) return undefined
  let length = 1
  for (let mask = 0x80; (first & mask) === 0; mask >>= 1) length++
  return length
}

function readUint (data: Uint8Array): number {
  let value = 0
  for (const b of data) value = value * 256 + b
  return value
}

function readFloat (data: Uint8Array): number | undefined {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  if (data.byteLength === 4) return view.getFloat32(0)
  if (data.byteLength === 8) return view.getFloat64(0)
  return undefined
}
