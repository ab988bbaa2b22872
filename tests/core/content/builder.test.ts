import { describe, expect, it } from 'vitest'
import { buildManifest, mimeFromFilename } from '@core/content/builder'
import { contentIdOf, verifyChunk } from '@core/content/manifest'
import { inPieces, pseudoRandomBytes } from '../../helpers/content'

describe('buildManifest', () => {
  it('gives the same manifest however the input is cut', async () => {
    const bytes = pseudoRandomBytes(3 * 262144 + 5)
    const cuts = [1, 4096, 262144, 262145, 1_000_000]
    const built = await Promise.all(cuts.map(async piece => await buildManifest(inPieces(bytes, piece), { name: 'a.mp4', mime: 'video/mp4' })))
    for (const b of built) expect(b).toEqual(built[0])
    const { manifest, contentId } = built[0]!
    expect(manifest.hashes).toHaveLength(4)
    expect(manifest.size).toBe(bytes.byteLength)
    expect(contentId).toBe(await contentIdOf(manifest))
    await verifyChunk(manifest, 3, bytes.subarray(3 * 262144))
  })

  it('refuses an empty file, and reports progress', async () => {
    await expect(buildManifest(inPieces(new Uint8Array(0)), { name: 'a.mp4', mime: 'video/mp4' })).rejects.toMatchObject({ name: 'InvalidManifestError' })
    const seen: number[] = []
    await buildManifest(inPieces(new Uint8Array(250_000), 100_000), { name: 'a.mp4', mime: 'video/mp4', onProgress: p => seen.push(p.bytesHashed) })
    expect(seen).toEqual([100_000, 200_000, 250_000])
  })

  it('manifests 1 GiB while holding about one chunk', async () => {
    const piece = pseudoRandomBytes(1024 * 1024, 9)
    async function * gib (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1024; i++) yield piece
    }
    const before = process.memoryUsage()
    let peak = 0
    const { manifest } = await buildManifest(gib(), {
      name: 'big.mp4',
      mime: 'video/mp4',
      onProgress: () => {
        const m = process.memoryUsage()
        peak = Math.max(peak, m.arrayBuffers - before.arrayBuffers)
      }
    })
    expect(manifest.size).toBe(1024 ** 3)
    expect(manifest.hashes).toHaveLength(4096)
    // a whole-file buffer would be 1024 MiB; one chunk plus garbage is a few MiB
    expect(peak).toBeLessThan(64 * 1024 * 1024)
  }, 60_000)

  it.each([['a.mp4', 'video/mp4'], ['A.WEBM', 'video/webm'], ['x.mkv', 'video/x-matroska'], ['noext', 'application/octet-stream']])('mime of %s is %s', (name, mime) => {
    expect(mimeFromFilename(name)).toBe(mime)
  })
})
