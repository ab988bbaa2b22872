import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../../relay/config'
import { allowListOf, parsePeerRelay } from '../../../relay/peers/index'

const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('--peer-relay', () => {
  it('takes a multiaddr ending in /p2p/<id>, repeated or from the environment, and knows whom it must reach there', () => {
    const a = `/ip4/192.0.2.10/tcp/10000/p2p/${id}`
    const b = `/dns4/relay-b.example/tcp/10000/p2p/${id}`
    expect(parseRelayConfig(['--peer-relay', a, '--peer-relay', b], {}).peerRelays).toEqual([a, b])
    expect(parseRelayConfig([], { PIPBINGO_PEER_RELAYS: `${a}, ${b}` }).peerRelays).toEqual([a, b])
    const parsed = parsePeerRelay(a)
    expect(parsed.id.toString()).toBe(id)
    expect(parsed.addr.toString()).toBe(a)
  })

  it.each([
    ['no /p2p/ at the end', '/ip4/192.0.2.10/tcp/10000', /multiaddr ending in \/p2p/],
    ['a peer id that is none', '/ip4/192.0.2.10/tcp/10000/p2p/12D3KooWnotanid', /valid peer id/],
    ['no multiaddr', '/nonsense/192.0.2.10/p2p/' + id, /valid multiaddr/]
  ])('refuses %s with a clear error', (_what, value, message) => {
    expect(() => parseRelayConfig(['--peer-relay', value], {})).toThrow(/Invalid relay configuration: peerRelays\.0: /)
    expect(() => parseRelayConfig(['--peer-relay', value], {})).toThrow(message)
    expect(() => parsePeerRelay(value)).toThrow(expect.objectContaining({ name: 'InvalidPeerRelayError' }))
  })

  it('peer relays given by IP are exempt from the connection limits by that IP; by DNS name they are not', () => {
    const relays = [`/ip4/192.0.2.10/tcp/10000/p2p/${id}`, `/ip4/192.0.2.10/tcp/10001/p2p/${id}`, `/ip6/2001:db8::1/tcp/10000/p2p/${id}`, `/dns4/b.example/tcp/1/p2p/${id}`].map(parsePeerRelay)
    expect(allowListOf(relays)).toEqual(['/ip4/192.0.2.10', '/ip6/2001:db8::1'])
  })
})
