import { afterEach, describe, expect, it, vi } from 'vitest'
import { SpeedMeter } from '../../../node-bridge/downloads/speed'
import { Throttle } from '../../../node-bridge/downloads/throttle'
import { canMove, DOWNLOAD_STATES, type DownloadState } from '../../../node-bridge/downloads/states'
import { chunkLine } from '../../../node-bridge/downloads/console-log'
import { isoSeconds, type DownloadStatus } from '../../../node-bridge/downloads/status'

describe('SpeedMeter: a moving average in KB/s (1 KB = 1024 B)', () => {
  it.each([
    // [samples as [ms after start, bytes], read at ms, expected KB/s]
    [[[1000, 1024 * 1024]], 1000, 1024], // 1 MiB in the first second
    [[[250, 256 * 1024]], 250, 1024], // one chunk in 250 ms
    [[[10, 1024]], 10, 10], // too soon to divide by 10 ms: the span is at least 100 ms
    [[[1000, 512 * 1024], [2000, 512 * 1024]], 2000, 512],
    [[[1000, 5 * 1024 * 1024], [9000, 1024 * 1024]], 9000, 204.8], // the window is the last 5 s
    [[[1000, 1024 * 1024]], 7000, 0] // nothing in the last 5 s
  ] as Array<[Array<[number, number]>, number, number]>)('%j read at %d ms → %d KB/s', (samples, at, expected) => {
    let t = 0
    const meter = new SpeedMeter(5000, () => t)
    meter.start()
    for (const [ms, bytes] of samples) { t = ms; meter.add(bytes) }
    t = at
    expect(meter.kbps()).toBeCloseTo(expected, 2)
  })

  it('averageKbps is the whole run', () => {
    let t = 0
    const meter = new SpeedMeter(5000, () => t)
    meter.start()
    t = 4000; meter.add(4 * 1024 * 1024)
    t = 8000; meter.add(4 * 1024 * 1024)
    expect(meter.averageKbps(8000)).toBe(1024)
    expect(meter.bytes).toBe(8 * 1024 * 1024)
  })
})

describe('Throttle: at most one per interval per key, the latest held back runs at the end, final at once', () => {
  afterEach(() => { vi.useRealTimers() })
  it('drops nothing that matters', () => {
    vi.useFakeTimers()
    const throttle = new Throttle(250, () => Date.now())
    const ran: string[] = []
    throttle.run('a', () => ran.push('a1'))
    throttle.run('a', () => ran.push('a2'))
    throttle.run('a', () => ran.push('a3'))
    throttle.run('b', () => ran.push('b1'))
    expect(ran).toEqual(['a1', 'b1'])
    vi.advanceTimersByTime(250)
    expect(ran).toEqual(['a1', 'b1', 'a3'])
    throttle.run('a', () => ran.push('a4'))
    throttle.run('a', () => ran.push('a5'), true)
    vi.advanceTimersByTime(1000)
    expect(ran).toEqual(['a1', 'b1', 'a3', 'a5'])
    throttle.run('b', () => ran.push('b2'))
    throttle.run('b', () => ran.push('b3'))
    throttle.close()
    vi.advanceTimersByTime(1000)
    expect(ran).toEqual(['a1', 'b1', 'a3', 'a5', 'b2'])
  })
})

describe('download states', () => {
  const allowed: Array<[DownloadState, DownloadState]> = [
    ['queued', 'downloading'], ['queued', 'cancelled'], ['queued', 'failed'],
    ['downloading', 'completed'], ['downloading', 'failed'], ['downloading', 'cancelled'],
    ['completed', 'seeding'], ['seeding', 'queued'], ['failed', 'queued'], ['failed', 'cancelled'], ['cancelled', 'queued']
  ]
  it('moves only along queued → downloading → completed → seeding (→ queued again when the cache finds the file damaged), failed and cancelled', () => {
    for (const from of DOWNLOAD_STATES) {
      for (const to of DOWNLOAD_STATES) {
        expect(canMove(from, to), `${from} → ${to}`).toBe(allowed.some(([f, t]) => f === from && t === to))
      }
    }
  })
})

describe('the seed\'s console line and times', () => {
  const status = (over: Partial<DownloadStatus>): DownloadStatus => ({
    filename: 'video_1234567890.mp4', status: 'downloading', progress: 2.22, bytes_downloaded: 0, total_bytes: 0, peers_connected: 1,
    download_speed: 1024.5, started_at: null, completed_at: null, title: null, content_id: null, chunks_downloaded: 1, chunks_total: 45,
    bytes_from_peers: 0, bytes_from_origin: 0, error: null, error_code: null, waiting_for: null, ...over
  })
  it.each([
    // the seed's lines (1024.50 Ko/s, 1 Ko = 1024 B), in the one unit convention: decimal
    [status({}), 'en', '   Chunk 1/45 (2.2%) - 1.0 MB/s'],
    [status({ chunks_downloaded: 2, progress: 4.44, download_speed: 1156.32 }), 'en', '   Chunk 2/45 (4.4%) - 1.2 MB/s'],
    [status({ chunks_downloaded: 45, progress: 100, download_speed: 1200.15 }), 'fr', '   Chunk 45/45 (100.0%) - 1.2 Mo/s'],
    [status({ download_speed: 0.5 }), 'en', '   Chunk 1/45 (2.2%) - 512 B/s'],
    [status({ download_speed: 97.66 }), 'fr', '   Chunk 1/45 (2.2%) - 100 ko/s']
  ] as const)('%#', (s, lang, line) => { expect(chunkLine(s, lang)).toBe(line) })

  it('ISO 8601 UTC to the second', () => {
    expect(isoSeconds(new Date('2025-11-21T10:45:00.987Z'))).toBe('2025-11-21T10:45:00Z')
    expect(isoSeconds(undefined)).toBeNull()
  })
})
