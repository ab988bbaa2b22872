import { describe, expect, it } from 'vitest'
import { parseRelayConfig, RELAY_USAGE } from '../../relay/config'

describe('relay configuration', () => {
  it('has the documented defaults, on loopback', () => {
    const c = parseRelayConfig([], {})
    expect(c).toMatchObject({ host: '127.0.0.1', httpPort: 8080, tcpPort: 10000, wsPort: 10002, libraryDir: 'library' })
  })

  it('keeps browser-published videos 24 h after the last peer left, and lists at most 1000', () => {
    const c = parseRelayConfig([], {})
    expect(c.publishedGraceMs).toBe(24 * 60 * 60_000)
    expect(c.maxPublished).toBe(1000)
    const set = parseRelayConfig(['--published-grace-ms', '0', '--max-published', '5'], { PIPBINGO_MAX_PUBLISHED: '7' })
    expect(set).toMatchObject({ publishedGraceMs: 0, maxPublished: 5 })
    expect(parseRelayConfig([], { PIPBINGO_PUBLISHED_GRACE_MS: '60000' }).publishedGraceMs).toBe(60_000)
  })

  it('publishing quotas: 20 requests a minute per address, 50 videos a day per address, 20 per peer, 1 GiB of manifests; each settable', () => {
    expect(parseRelayConfig([], {})).toMatchObject({ publishRequestsPerMinute: 20, publishesPerAddressPerDay: 50, publishesPerPeerPerDay: 20, maxPublishedBytes: 1024 ** 3 })
    const set = parseRelayConfig(['--publish-rate', '5', '--publishes-per-address', '6', '--publishes-per-peer', '7'], { PIPBINGO_MAX_PUBLISHED_BYTES: '1000' })
    expect(set).toMatchObject({ publishRequestsPerMinute: 5, publishesPerAddressPerDay: 6, publishesPerPeerPerDay: 7, maxPublishedBytes: 1000 })
    expect(() => parseRelayConfig(['--publishes-per-peer', '0'], {})).toThrow(/publishesPerPeerPerDay/)
  })

  it('takes flags before environment variables', () => {
    const c = parseRelayConfig(['--http-port', '9000'], { PIPBINGO_HTTP_PORT: '7000', PIPBINGO_TCP_PORT: '7001' })
    expect(c.httpPort).toBe(9000)
    expect(c.tcpPort).toBe(7001)
  })

  it.each([
    [['--http-port', 'eighty'], {}],
    [['--http-port', '70000'], {}],
    [[], { PIPBINGO_WS_PORT: '-1' }],
    [['--max-upload-bytes', '0'], {}],
    [['--published-grace-ms=-1'], {}],
    [['--max-published', '0'], {}],
    [[], { PIPBINGO_PUBLISHED_GRACE_MS: '1h' }]
  ])('refuses bad values with a readable error: %j %j', (argv, env) => {
    expect(() => parseRelayConfig(argv, env)).toThrow(/Invalid relay configuration: \w+/)
  })

  it('--help lists every flag with its environment variable', () => {
    for (const flag of ['--published-grace-ms', '--max-published', '--max-upload-bytes']) expect(RELAY_USAGE).toContain(flag)
    expect(RELAY_USAGE).toMatch(/--published-grace-ms\s+PIPBINGO_PUBLISHED_GRACE_MS\s+\S/)
  })

  it('refuses unknown flags', () => {
    expect(() => parseRelayConfig(['--htp-port', '1'], {})).toThrow(/Unknown option/)
  })
})
