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

  it('uploads: no other origin, 2 at once, 30 an hour, 4 GiB an hour and 16 GiB a day per address, a 20 GiB library', () => {
    expect(parseRelayConfig([], {})).toMatchObject({
      allowOrigins: [],
      uploadsAtOnce: 2,
      uploadsPerHour: 30,
      uploadBytesPerHour: 4 * 1024 ** 3,
      uploadBytesPerDay: 16 * 1024 ** 3,
      maxLibraryBytes: 20 * 1024 ** 3
    })
    const set = parseRelayConfig(['--allow-origin', 'https://video.example', '--allow-origin', 'http://localhost:5173', '--uploads-at-once', '1',
      '--uploads-per-hour', '5', '--upload-bytes-per-hour', '1000', '--upload-bytes-per-day', '5000', '--max-library-bytes', '99'], {})
    expect(set).toMatchObject({ allowOrigins: ['https://video.example', 'http://localhost:5173'], uploadsAtOnce: 1, uploadsPerHour: 5, uploadBytesPerHour: 1000, uploadBytesPerDay: 5000, maxLibraryBytes: 99 })
    expect(parseRelayConfig([], { PIPBINGO_ALLOW_ORIGINS: 'https://a.example, http://b.example:8000', PIPBINGO_MAX_LIBRARY_BYTES: '1000' }))
      .toMatchObject({ allowOrigins: ['https://a.example', 'http://b.example:8000'], maxLibraryBytes: 1000 })
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
    [[], { PIPBINGO_PUBLISHED_GRACE_MS: '1h' }],
    [['--allow-origin', 'https://video.example/'], {}],
    [['--allow-origin', 'video.example'], {}],
    [[], { PIPBINGO_ALLOW_ORIGINS: 'https://ok.example,ftp://no.example' }],
    [['--uploads-at-once', '0'], {}],
    [['--upload-bytes-per-day', '1.5'], {}],
    [['--max-library-bytes=-1'], {}]
  ])('refuses bad values with a readable error: %j %j', (argv, env) => {
    expect(() => parseRelayConfig(argv, env)).toThrow(/Invalid relay configuration: \w+/)
  })

  it('--help lists every flag with its environment variable', () => {
    for (const flag of ['--published-grace-ms', '--max-published', '--max-upload-bytes', '--allow-origin', '--max-library-bytes',
      '--uploads-at-once', '--uploads-per-hour', '--upload-bytes-per-hour', '--upload-bytes-per-day']) expect(RELAY_USAGE).toContain(flag)
    expect(RELAY_USAGE).toMatch(/--allow-origin\s+PIPBINGO_ALLOW_ORIGINS\s+\S.*repeatable/)
    expect(RELAY_USAGE).toMatch(/--published-grace-ms\s+PIPBINGO_PUBLISHED_GRACE_MS\s+\S/)
  })

  it('refuses unknown flags', () => {
    expect(() => parseRelayConfig(['--htp-port', '1'], {})).toThrow(/Unknown option/)
  })
})
