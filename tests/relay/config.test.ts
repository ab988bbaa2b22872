import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config'

describe('relay configuration', () => {
  it('has the documented defaults, on loopback', () => {
    const c = parseRelayConfig([], {})
    expect(c).toMatchObject({ host: '127.0.0.1', httpPort: 8080, tcpPort: 10000, wsPort: 10002, libraryDir: 'library' })
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
    [['--max-upload-bytes', '0'], {}]
  ])('refuses bad values with a readable error: %j %j', (argv, env) => {
    expect(() => parseRelayConfig(argv, env)).toThrow(/Invalid relay configuration: \w+/)
  })

  it('refuses unknown flags', () => {
    expect(() => parseRelayConfig(['--htp-port', '1'], {})).toThrow(/Unknown option/)
  })
})
