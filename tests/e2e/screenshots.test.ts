import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SHOTS, VIEWPORTS, shotFile, takeScreenshots, type ViewportName } from '../screenshots/app'

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
/** A page of one colour at these sizes compresses to a few KiB; every real shot is tens of KiB. */
const MIN_BYTES = 10 * 1024

/** The image's size from its IHDR chunk: signature (8) · length (4) · "IHDR" (4) · width u32 BE · height u32 BE. */
function pngSize (png: Buffer): { width: number, height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature').toBe(true)
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR')
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) }
}

/**
 * `npm run screenshots` (tests/screenshots/app.ts) still works against the
 * app as it is: a real relay, two Chromium processes, the catalogue with its
 * poster, the player's overlay after a WebRTC transfer, a chat between two tabs,
 * a publish in progress.
 */
describe('the README screenshots', () => {
  it('are taken: eight PNGs, desktop and phone, at their widths and not blank', { timeout: 150_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-screenshots-'))
    try {
      const paths = await takeScreenshots(dir, { timeoutMs: 120_000 })
      const expected = SHOTS.flatMap(shot => (Object.keys(VIEWPORTS) as ViewportName[]).map(viewport => ({ shot, viewport, path: join(dir, shotFile(shot, viewport)) })))
      expect([...paths].sort()).toEqual(expected.map(e => e.path).sort())
      for (const { viewport, path } of expected) {
        const png = await readFile(path)
        const { width, height } = pngSize(png)
        expect(width, path).toBe(VIEWPORTS[viewport].width)
        // whole-page shots: at least the viewport's height
        expect(height, path).toBeGreaterThanOrEqual(VIEWPORTS[viewport].height)
        expect(png.byteLength, path).toBeGreaterThan(MIN_BYTES)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
