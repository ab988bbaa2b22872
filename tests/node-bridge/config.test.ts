import { describe, expect, it } from 'vitest'
import { BRIDGE_USAGE, parseBridgeConfig } from '../../node-bridge/config'
import { RELAY_USAGE } from '../../relay/config'

const RELAY = '/ip4/127.0.0.1/tcp/10000/p2p/12D3KooWGZgKyBex4jsFZ3MfXro9cJNVCQ3kyvAn4Tkg8JQZMdmj'

describe('bridge configuration: flags, then environment, then defaults', () => {
  it('has the documented defaults', () => {
    expect(parseBridgeConfig([], {})).toEqual({
      host: '127.0.0.1', apiHost: '127.0.0.1', apiPort: 9090, ipcPort: 8889, p2pPort: 10001, wsPort: 10003,
      relayHttp: 'http://127.0.0.1:8080', cacheDir: 'cache', dataDir: '.pipbingo/bridge', maxConcurrentDownloads: 3, sourceWaitSeconds: 30, iceServers: [], allowOrigins: [], lang: 'en'
    })
  })

  it('--help describes every flag, for the bridge and the relay: flag, variable, what it is and its default, in aligned columns', () => {
    for (const usage of [BRIDGE_USAGE, RELAY_USAGE]) {
      const lines = usage.split('\n').slice(1)
      expect(lines.length).toBeGreaterThan(8)
      for (const line of lines) expect(line).toMatch(/^ {2}--[a-z0-9-]+ {2,}PIPBINGO_[A-Z0-9_]+ {2,}\S.*\(.+\)/)
      // the longest flag or variable name does not push its line's columns out of line
      expect(new Set(lines.map(line => line.indexOf('PIPBINGO_'))).size).toBe(1)
      expect(new Set(lines.map(line => /PIPBINGO_[A-Z0-9_]+ +/.exec(line)!.index + /PIPBINGO_[A-Z0-9_]+ +/.exec(line)![0].length)).size).toBe(1)
    }
  })

  it('reads flags before the environment', () => {
    const config = parseBridgeConfig(['--api-port', '9191', '--relay', RELAY, '--max-downloads', '5', '--ice-servers', '[{"urls":"stun:stun.example.org:3478"}]'], {
      PIPBINGO_API_PORT: '9292', PIPBINGO_CACHE: '/tmp/c', PIPBINGO_RELAY_HTTP: 'http://relay.lan:8080/'
    })
    expect(config).toMatchObject({ apiPort: 9191, cacheDir: '/tmp/c', relay: RELAY, relayHttp: 'http://relay.lan:8080', maxConcurrentDownloads: 5 })
    expect(config.iceServers).toEqual([{ urls: 'stun:stun.example.org:3478' }])
  })

  it('takes --send-dir and --allow-origin repeated, or from the environment as lists', () => {
    expect(parseBridgeConfig(['--send-dir', '/srv/share, with comma', '--send-dir', 'outbox', '--allow-origin', 'http://localhost:5173', '--allow-origin', 'https://app.example'], {}))
      .toMatchObject({ sendDirs: ['/srv/share, with comma', 'outbox'], allowOrigins: ['http://localhost:5173', 'https://app.example'] })
    expect(parseBridgeConfig([], { PIPBINGO_SEND_DIRS: '/a:/b', PIPBINGO_ALLOW_ORIGINS: 'http://localhost:5173, http://127.0.0.1:4173' }))
      .toMatchObject({ sendDirs: ['/a', '/b'], allowOrigins: ['http://localhost:5173', 'http://127.0.0.1:4173'] })
  })

  it.each([
    [['--allow-origin', 'http://localhost:5173/'], /allowOrigins.0: expected an origin such as http:\/\/localhost:5173/],
    [['--allow-origin', '*'], /allowOrigins/],
    [['--api-port', '70000'], /apiPort/],
    [['--max-downloads', '0'], /maxConcurrentDownloads/],
    [['--relay', '/ip4/127.0.0.1/tcp/10000'], /relay: expected a multiaddr ending in \/p2p/],
    [['--relay', 'not a multiaddr'], /relay/],
    [['--relay-http', 'ftp://x'], /relayHttp/],
    [['--ice-servers', '{nope'], /iceServers: not valid JSON/],
    [['--ice-servers', '[{"url":"stun:x"}]'], /iceServers/],
    [['--unknown-flag', 'x'], /Unknown option/]
  ])('refuses %j with a readable error', (argv, message) => {
    expect(() => parseBridgeConfig(argv, {})).toThrow(message)
  })
})
