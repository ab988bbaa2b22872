import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { sha256, useSha256 } from '@core/util/sha256'
import { CHUNK_SIZE, verifyChunk } from '@core/content/manifest'
import { buildManifest } from '@core/content/builder'
import { useNodeSha256 } from '../../node-bridge/sha256'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const webCrypto = async (data: Uint8Array): Promise<Uint8Array> => new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))

describe('the core\'s sha256 in Node (node-bridge/sha256.ts)', () => {
  afterEach(() => { useSha256(webCrypto) })

  it('gives WebCrypto\'s digests, on a view into a larger buffer too', async () => {
    useNodeSha256()
    const backing = randomBytes(300_000)
    const view = backing.subarray(1_000, 1_000 + 262_144)
    expect(hex(await sha256(view))).toBe(hex(await webCrypto(view)))
    expect(hex(await sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  })

  it('is what verifyChunk uses once installed: a flipped byte is still refused', async () => {
    const calls: number[] = []
    useSha256(data => { calls.push(data.byteLength); return createHash('sha256').update(data).digest() })
    const bytes = randomBytes(600_000)
    const { manifest } = await buildManifest((async function * () { yield bytes })(), { name: 'x.mp4', mime: 'video/mp4' })
    const second = bytes.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE)
    calls.length = 0
    await verifyChunk(manifest, 1, second)
    expect(calls).toEqual([CHUNK_SIZE])
    const flipped = second.slice()
    flipped[7]! ^= 1
    await expect(verifyChunk(manifest, 1, flipped)).rejects.toThrow(/does not match its hash/)
  })
})
