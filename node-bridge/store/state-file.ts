import { isValidFilename } from '@core/content/filename'
import { Bitfield } from '@core/swarm/bitfield'
import { InvalidStateFileError } from './errors'

/**
 * The persisted state of a partial download: which local filename it will
 * get (its data is in `<filename>.part`) and its have-bitfield.
 *
 *     "PBST" | version u8 = 1 | name length u16 | name (UTF-8) | bit count u32 | bitfield bytes
 */
export interface PartialState {
  filename: string
  have: Bitfield
}

const MAGIC = [0x50, 0x42, 0x53, 0x54] // "PBST"
const VERSION = 1
const HEADER = MAGIC.length + 1 + 2

export function encodeState (state: PartialState): Uint8Array {
  const name = new TextEncoder().encode(state.filename)
  const bits = state.have.toBytes()
  const out = new Uint8Array(HEADER + name.byteLength + 4 + bits.byteLength)
  const view = new DataView(out.buffer)
  out.set(MAGIC, 0)
  view.setUint8(4, VERSION)
  view.setUint16(5, name.byteLength)
  out.set(name, HEADER)
  view.setUint32(HEADER + name.byteLength, state.have.length)
  out.set(bits, HEADER + name.byteLength + 4)
  return out
}

export function decodeState (bytes: Uint8Array): PartialState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < HEADER + 4 || MAGIC.some((b, i) => bytes[i] !== b)) throw new InvalidStateFileError('Not a state file')
  if (view.getUint8(4) !== VERSION) throw new InvalidStateFileError('Unknown state file version')
  const nameLength = view.getUint16(5)
  if (bytes.byteLength < HEADER + nameLength + 4) throw new InvalidStateFileError('Truncated state file')
  let filename: string
  try {
    filename = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER, HEADER + nameLength))
  } catch {
    throw new InvalidStateFileError('The filename in the state file is not UTF-8')
  }
  if (!isValidFilename(filename)) throw new InvalidStateFileError('The filename in the state file is not allowed')
  const length = view.getUint32(HEADER + nameLength)
  const bits = bytes.subarray(HEADER + nameLength + 4)
  try {
    return { filename, have: new Bitfield(length, bits) }
  } catch (err) {
    throw new InvalidStateFileError(`Bad bitfield in the state file: ${(err as Error).message}`)
  }
}
