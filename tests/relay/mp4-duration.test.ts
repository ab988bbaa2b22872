import { describe, expect, it } from 'vitest'
import { findDuration, parseMvhd, readMp4Duration } from '../../relay/library/index'
import { SAMPLE, SEEK_FIXTURE } from './helpers'

function box (type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + body.byteLength)
  new DataView(out.buffer).setUint32(0, out.byteLength)
  out.set(new TextEncoder().encode(type), 4)
  out.set(body, 8)
  return out
}

function mvhd (version: 0 | 1, timescale: number, duration: number | bigint): Uint8Array {
  const body = new Uint8Array(version === 0 ? 100 : 112)
  const view = new DataView(body.buffer)
  view.setUint8(0, version)
  if (version === 0) {
    view.setUint32(12, timescale)
    view.setUint32(16, Number(duration))
  } else {
    view.setUint32(20, timescale)
    view.setBigUint64(24, BigInt(duration))
  }
  return box('mvhd', body)
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const p of parts) { out.set(p, offset); offset += p.byteLength }
  return out
}

/** A byte source that records how much was read. */
function source (bytes: Uint8Array): { readAt: (p: number, n: number) => Promise<Uint8Array>, read: () => number } {
  let read = 0
  return {
    readAt: async (p, n) => {
      const slice = bytes.slice(p, p + n)
      read += slice.byteLength
      return slice
    },
    read: () => read
  }
}

const ftyp = box('ftyp', new TextEncoder().encode('isom\0\0\0\0isomavc1'))

describe('MP4 duration from moov/mvhd', () => {
  it('reads the sample videos', async () => {
    expect(await readMp4Duration(SAMPLE)).toBeCloseTo(45, 1)
    expect(await readMp4Duration(SEEK_FIXTURE)).toBeCloseTo(180, 1)
  })

  it.each([
    ['version 0', mvhd(0, 1000, 12_345), 12.345],
    ['version 1', mvhd(1, 90_000, 90_000n * 3600n), 3600]
  ])('%s mvhd, after another moov child', async (_name, m, expected) => {
    const file = concat(ftyp, box('moov', concat(box('udta', new Uint8Array(10)), m)))
    expect(await findDuration(source(file).readAt, file.byteLength)).toBe(expected)
  })

  it('finds moov after a huge mdat (64-bit size) reading only box headers', async () => {
    const mdatSize = 5n * 1024n ** 3n // 5 GiB, never materialised
    const moov = box('moov', mvhd(0, 600, 600 * 90))
    const header = new Uint8Array(16)
    const view = new DataView(header.buffer)
    view.setUint32(0, 1)
    header.set(new TextEncoder().encode('mdat'), 4)
    view.setBigUint64(8, mdatSize)
    const moovAt = ftyp.byteLength + Number(mdatSize)
    const size = moovAt + moov.byteLength
    let read = 0
    const readAt = async (p: number, n: number): Promise<Uint8Array> => {
      const out = new Uint8Array(Math.max(0, Math.min(n, size - p)))
      for (let i = 0; i < out.byteLength; i++) {
        const at = p + i
        if (at < ftyp.byteLength) out[i] = ftyp[at] as number
        else if (at < ftyp.byteLength + 16) out[i] = header[at - ftyp.byteLength] as number
        else if (at >= moovAt) out[i] = moov[at - moovAt] as number
      }
      read += out.byteLength
      return out
    }
    expect(await findDuration(readAt, size)).toBe(90)
    expect(read).toBeLessThan(200)
  })

  it.each([
    ['no moov', concat(ftyp, box('mdat', new Uint8Array(100)))],
    ['moov without mvhd', concat(ftyp, box('moov', box('trak', new Uint8Array(8))))],
    ['unknown duration (all ones)', concat(ftyp, box('moov', mvhd(0, 1000, 0xffffffff)))],
    ['zero duration (fragmented)', concat(ftyp, box('moov', mvhd(0, 1000, 0)))],
    ['zero timescale', concat(ftyp, box('moov', mvhd(0, 0, 100)))],
    ['not an MP4 at all', new TextEncoder().encode('\x1aE\xdf\xa3 this is a webm header, or random bytes')],
    ['a box larger than the file', (() => { const f = concat(ftyp, box('moov', mvhd(0, 1, 1))); new DataView(f.buffer).setUint32(ftyp.byteLength, 1e6); return f })()],
    ['truncated mvhd', concat(ftyp, box('moov', box('mvhd', new Uint8Array(10))))],
    ['empty', new Uint8Array(0)]
  ])('%s → undefined', async (_name, bytes) => {
    expect(await findDuration(source(bytes).readAt, bytes.byteLength)).toBeUndefined()
  })

  it('parseMvhd rejects unknown versions', () => {
    expect(parseMvhd(new Uint8Array([2, 0, 0, 0, ...new Array(40).fill(1)]))).toBeUndefined()
  })
})
