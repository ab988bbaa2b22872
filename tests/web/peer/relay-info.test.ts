import { describe, expect, it } from 'vitest'
import { pickRelayAddr } from '../../../web/peer/relay-info'

const ID = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const TCP = `/ip4/10.0.0.5/tcp/10000/p2p/${ID}`
const WS = `/ip4/10.0.0.5/tcp/10002/ws/p2p/${ID}`
const TLS_WS = `/dns4/video.example.org/tcp/443/tls/ws/p2p/${ID}`
const WSS = `/dns4/video.example.org/tcp/443/wss/p2p/${ID}`
const CIRCUIT = `/dns4/video.example.org/tcp/443/tls/ws/p2p/${ID}/p2p-circuit`

describe('pickRelayAddr: the relay address a page can open', () => {
  it.each([
    ['https:', [TCP, WS, TLS_WS], TLS_WS],
    ['https:', [TCP, WSS], WSS],
    ['https:', [CIRCUIT, 'not a multiaddr', TLS_WS], TLS_WS],
    ['http:', [TCP, TLS_WS, WS], WS],
    ['http:', [TCP, TLS_WS], TLS_WS]
  ])('a %s page, offered %j, takes %s', (protocol, addrs, expected) => {
    expect(pickRelayAddr(addrs, protocol).toString()).toBe(expected)
  })

  it('a secure page offered only ws:// addresses: RelayUnreachableError that says why and what to do', () => {
    expect(() => pickRelayAddr([TCP, WS], 'https:')).toThrow(expect.objectContaining({
      name: 'RelayUnreachableError',
      message: expect.stringMatching(/no secure WebSockets address \(\/tls\/ws\), and a page served over https cannot open ws:\/\/: start the relay with --tls-cert/)
    }))
  })

  it('no WebSockets address at all (or only circuits): RelayUnreachableError', () => {
    for (const protocol of ['http:', 'https:']) {
      expect(() => pickRelayAddr([TCP, CIRCUIT], protocol)).toThrow(expect.objectContaining({ name: 'RelayUnreachableError', message: 'The relay offers no WebSockets address' }))
    }
  })
})
