import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import type { ContentId } from '@core/content/manifest'
import { afterEach, describe, expect, it } from 'vitest'
import { parseRelayConfig } from '../../relay/config'
import { publicAddressFilter, publicWsAddr } from '../../relay/public-address'
import { createTestNode } from '../helpers/nodes'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'

const ID = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'

describe('the WebSockets address of a public URL', () => {
  it.each([
    ['https://video.example.org', '/dns4/video.example.org/tcp/443/tls/ws'],
    ['https://video.example.org:8443', '/dns4/video.example.org/tcp/8443/tls/ws'],
    ['http://box.lan', '/dns4/box.lan/tcp/80/ws'],
    ['http://box.lan:8000', '/dns4/box.lan/tcp/8000/ws'],
    ['https://203.0.113.7', '/ip4/203.0.113.7/tcp/443/tls/ws'],
    ['https://[2001:db8::7]:444', '/ip6/2001:db8::7/tcp/444/tls/ws']
  ])('%s → %s', (url, addr) => {
    expect(publicWsAddr(url).toString()).toBe(addr)
  })
})

describe('publicAddressFilter: the WebSockets listen addresses become the public one, the rest stay', () => {
  const listen = [
    `/ip4/10.0.0.5/tcp/10000/p2p/${ID}`,
    `/ip4/10.0.0.5/tcp/10002/ws/p2p/${ID}`,
    `/ip4/127.0.0.1/tcp/10002/ws/p2p/${ID}`
  ].map(a => multiaddr(a))

  it('behind a proxy: the URL\'s host and port, once', () => {
    expect(publicAddressFilter({ publicUrl: 'https://video.example.org', relayServesTls: false })(listen).map(String)).toEqual([
      `/ip4/10.0.0.5/tcp/10000/p2p/${ID}`,
      `/dns4/video.example.org/tcp/443/tls/ws/p2p/${ID}`
    ])
  })

  it('the relay serving TLS itself: the URL\'s host with the relay\'s own WebSockets port', () => {
    const tlsListen = listen.map(a => multiaddr(a.toString().replace('/ws/', '/tls/ws/')))
    expect(publicAddressFilter({ publicUrl: 'https://video.example.org', relayServesTls: true })(tlsListen).map(String)).toEqual([
      `/ip4/10.0.0.5/tcp/10000/p2p/${ID}`,
      `/dns4/video.example.org/tcp/10002/tls/ws/p2p/${ID}`
    ])
  })
})

describe('--public-url and --announce', () => {
  it('parse from flags and the environment; bad values get a clear error', () => {
    expect(parseRelayConfig(['--public-url', 'https://video.example.org/', '--announce', '/dns4/video.example.org/tcp/443/tls/ws', '--announce', '/dns4/video.example.org/tcp/10000'], {}))
      .toMatchObject({ publicUrl: 'https://video.example.org', announce: ['/dns4/video.example.org/tcp/443/tls/ws', '/dns4/video.example.org/tcp/10000'] })
    expect(parseRelayConfig([], { PIPBINGO_PUBLIC_URL: 'http://box.lan:8000', PIPBINGO_ANNOUNCE: '/ip4/192.0.2.1/tcp/10002/ws, /ip4/192.0.2.1/tcp/10000' }))
      .toMatchObject({ publicUrl: 'http://box.lan:8000', announce: ['/ip4/192.0.2.1/tcp/10002/ws', '/ip4/192.0.2.1/tcp/10000'] })
    expect(() => parseRelayConfig(['--public-url', 'https://video.example.org/app'], {})).toThrow(/publicUrl: expected an origin such as https:\/\/video\.example\.org/)
    expect(() => parseRelayConfig(['--public-url', 'ftp://video.example.org'], {})).toThrow(/publicUrl/)
    expect(() => parseRelayConfig(['--announce', 'video.example.org:443'], {})).toThrow(/announce\.0: expected a multiaddr, e\.g\. \/dns4\//)
  })

  describe('a relay started with them', () => {
    let r: TestRelay | undefined
    afterEach(async () => { await r?.close(); r = undefined })

    it('--public-url alone: /info names the URL; WebSockets advertised at /dns4/<host>/tcp/443/tls/ws, TCP as it listens; the URL\'s pages may upload', async () => {
      r = await startRelay([], { publicUrl: 'https://video.example.org' })
      const id = r.relay.node.peerId.toString()
      const info = await (await fetch(`${r.relay.httpUrl()}/info`)).json()
      expect(info.publicUrl).toBe('https://video.example.org')
      expect(info.multiaddrs).toEqual([
        expect.stringMatching(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${id}$`)),
        `/dns4/video.example.org/tcp/443/tls/ws/p2p/${id}`
      ])
      expect(r.relay.node.getMultiaddrs().map(String)).toEqual(info.multiaddrs)
      expect(r.relay.publicUrl()).toBe('https://video.example.org')
      // and identify tells peers the same
      const peer = await createTestNode()
      try {
        const identified = new Promise<string[]>(resolve => {
          peer.addEventListener('peer:identify', e => { if (e.detail.peerId.toString() === id) resolve(e.detail.listenAddrs.map(String)) })
        })
        await peer.dial(tcpAddr(r), { signal: AbortSignal.timeout(20_000) })
        expect((await identified).map(a => `${a}/p2p/${id}`)).toEqual(info.multiaddrs)
      } finally {
        await peer.stop()
      }
      const preflight = await fetch(`${r.relay.httpUrl()}/upload`, { method: 'OPTIONS', headers: { origin: 'https://video.example.org', 'access-control-request-method': 'POST' } })
      expect(preflight.status).toBe(204)
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://video.example.org')
    })

    it('the tracker gives a peer with a reservation circuit addresses through the public address', async () => {
      r = await startRelay([], { publicUrl: 'https://video.example.org' })
      const relayId = r.relay.node.peerId.toString()
      const tracker = trackerClient({ tracker: tcpAddr(r) })
      const holder = await createLibp2p({
        addresses: { listen: ['/p2p-circuit'] },
        transports: [tcp(), circuitRelayTransport()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify(), tracker }
      }) as unknown as Libp2p<{ tracker: TrackerClient }>
      const finder = await createTestNode({ tracker: trackerClient({ tracker: tcpAddr(r) }) }) as unknown as Libp2p<{ tracker: TrackerClient }>
      try {
        const reserved = new Promise<void>(resolve => {
          holder.addEventListener('self:peer:update', () => { if (holder.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit'))) resolve() })
        })
        await holder.dial(tcpAddr(r), { signal: AbortSignal.timeout(20_000) })
        await reserved
        const contentId = 'ab'.repeat(32) as ContentId
        await holder.services.tracker.announce([{ contentId, complete: true }], { signal: AbortSignal.timeout(20_000) })
        const [provider] = await finder.services.tracker.findProviders(contentId, { signal: AbortSignal.timeout(20_000) })
        const holderId = holder.peerId.toString()
        expect(provider?.multiaddrs.map(String)).toContain(`/dns4/video.example.org/tcp/443/tls/ws/p2p/${relayId}/p2p-circuit/webrtc/p2p/${holderId}`)
        // and none through the WebSockets port the relay listens on behind the proxy
        expect(provider?.multiaddrs.map(String).filter(a => /\/ws\//.test(a) && !a.startsWith('/dns4/video.example.org/tcp/443/tls/ws/'))).toEqual([])
      } finally {
        await finder.stop()
        await holder.stop()
      }
    })

    it('--announce: exactly those addresses, in /info and getMultiaddrs; a missing TCP one is warned about', async () => {
      const warnings: string[] = []
      r = await startRelay([], { publicUrl: 'https://video.example.org', announce: ['/dns4/video.example.org/tcp/443/tls/ws'] }, { onWarning: w => { warnings.push(w) } })
      const id = r.relay.node.peerId.toString()
      const info = await (await fetch(`${r.relay.httpUrl()}/info`)).json()
      expect(info.multiaddrs).toEqual([`/dns4/video.example.org/tcp/443/tls/ws/p2p/${id}`])
      expect(r.relay.node.getMultiaddrs().map(String)).toEqual(info.multiaddrs)
      expect(warnings).toEqual([expect.stringMatching(/^No plain TCP address is announced/)])
      await r.close()

      warnings.length = 0
      r = await startRelay([], { announce: ['/dns4/video.example.org/tcp/443/tls/ws', '/dns4/video.example.org/tcp/10000'] }, { onWarning: w => { warnings.push(w) } })
      const id2 = r.relay.node.peerId.toString()
      expect(r.relay.node.getMultiaddrs().map(String)).toEqual([`/dns4/video.example.org/tcp/443/tls/ws/p2p/${id2}`, `/dns4/video.example.org/tcp/10000/p2p/${id2}`])
      expect(warnings).toEqual([])
    })
  })
})
