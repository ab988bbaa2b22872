import { describe, expect, it } from 'vitest'
import { createRelayMetrics } from '../../relay/metrics'

function value (text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return match == null ? undefined : Number(match[1])
}

describe('relay metrics', () => {
  it('counters move by what the helpers add, gauges read their sources at scrape time', async () => {
    let peers = 1
    const metrics = createRelayMetrics({ peersConnected: () => peers, reservations: () => 4, trackerEntries: () => 9 }, { defaultMetrics: false })
    metrics.addHttpBytesServed(1000)
    metrics.addHttpBytesServed(24)
    metrics.addLibp2pBytesServed(262_144)
    metrics.addUpload()
    metrics.addSuperSeedDecision('first')
    metrics.addSuperSeedDecision('held')
    metrics.addSuperSeedDecision('held')
    metrics.addHttpBytesServed(-5) // ignored
    metrics.addHttpBytesServed(Number.NaN) // ignored
    let text = await metrics.text()
    expect(value(text, 'pipbingo_http_bytes_served_total')).toBe(1024)
    expect(value(text, 'pipbingo_libp2p_bytes_served_total')).toBe(262_144)
    expect(value(text, 'pipbingo_uploads_total')).toBe(1)
    expect(value(text, 'pipbingo_peers_connected')).toBe(1)
    expect(value(text, 'pipbingo_relay_reservations')).toBe(4)
    expect(value(text, 'pipbingo_tracker_entries')).toBe(9)
    expect(value(text, 'pipbingo_library_videos')).toBe(0)
    expect(value(text, 'pipbingo_published_videos')).toBe(0)
    expect(value(text, 'pipbingo_super_seed_decisions_total\\{decision="first"\\}')).toBe(1)
    expect(value(text, 'pipbingo_super_seed_decisions_total\\{decision="held"\\}')).toBe(2)
    expect(value(text, 'pipbingo_super_seed_decisions_total\\{decision="unlisted"\\}')).toBe(0)
    peers = 7
    text = await metrics.text()
    expect(value(text, 'pipbingo_peers_connected')).toBe(7)
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
  })

  it('a source that throws keeps the last value and does not break the scrape', async () => {
    let fail = false
    const metrics = createRelayMetrics({
      peersConnected: () => { if (fail) throw new Error('node stopped'); return 2 },
      reservations: () => 0,
      trackerEntries: () => 0
    }, { defaultMetrics: false })
    expect(value(await metrics.text(), 'pipbingo_peers_connected')).toBe(2)
    fail = true
    expect(value(await metrics.text(), 'pipbingo_peers_connected')).toBe(2)
  })

  it('two instances do not share state, and include process metrics by default', async () => {
    const a = createRelayMetrics({ peersConnected: () => 0, reservations: () => 0, trackerEntries: () => 0 })
    const b = createRelayMetrics({ peersConnected: () => 0, reservations: () => 0, trackerEntries: () => 0 })
    a.addUpload()
    expect(value(await b.text(), 'pipbingo_uploads_total')).toBe(0)
    expect(await a.text()).toMatch(/^process_cpu_user_seconds_total /m)
  })
})
