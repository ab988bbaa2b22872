import { describe, expect, it } from 'vitest'
import { RelayHttp } from '../../node-bridge/relay-http'
import { makeContent } from '../helpers/content'

const PEER = '12D3KooWGZgKyBex4jsFZ3MfXro9cJNVCQ3kyvAn4Tkg8JQZMdmj'

/** A relay that answers from a table of path → [status, body]. */
function relayAnswering (routes: Record<string, [number, unknown]>): RelayHttp {
  return new RelayHttp('http://relay.test', async (input) => {
    const path = new URL(String(input)).pathname
    const route = routes[path]
    if (route == null) return new Response('{"error":"no"}', { status: 404 })
    const [status, body] = route
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
  })
}

describe('RelayHttp: the relay is trusted no more than a peer', () => {
  it('takes the TCP address from /info and names the relay in it', async () => {
    const relay = relayAnswering({ '/info': [200, { peerId: PEER, multiaddrs: [`/ip4/127.0.0.1/tcp/10002/ws/p2p/${PEER}`, '/ip4/127.0.0.1/tcp/10000'] }] })
    expect((await relay.tcpAddr()).toString()).toBe(`/ip4/127.0.0.1/tcp/10000/p2p/${PEER}`)
    await expect(relayAnswering({ '/info': [200, { peerId: PEER, multiaddrs: [`/ip4/127.0.0.1/tcp/10002/ws/p2p/${PEER}`] }] }).tcpAddr()).rejects.toThrow(/no TCP address/)
  })

  it('drops catalogue entries that do not parse (a hostile filename among them)', async () => {
    const good = { filename: 'a.mp4', contentId: 'a'.repeat(64), size: 10, mime: 'video/mp4' }
    const relay = relayAnswering({
      '/list': [200, [good, { ...good, filename: '../../etc/passwd' }, { ...good, contentId: 'nope' }, { ...good, size: -1 }, 'junk']]
    })
    expect((await relay.list()).map(e => e.filename)).toEqual(['a.mp4'])
    await expect(relay.entry('b.mp4')).rejects.toMatchObject({ name: 'UnknownVideoError' })
  })

  it('checks every manifest against the content id asked for', async () => {
    const a = await makeContent(300_000, { seed: 1, name: 'a.mp4' })
    const b = await makeContent(300_000, { seed: 2, name: 'b.mp4' })
    const relay = relayAnswering({
      [`/manifest/${a.contentId}`]: [200, { contentId: a.contentId, manifest: a.manifest }],
      [`/manifest/${b.contentId}`]: [200, { contentId: b.contentId, manifest: a.manifest }],
      [`/manifest/${'c'.repeat(64)}`]: [200, { contentId: a.contentId, manifest: a.manifest }],
      [`/manifest/${'d'.repeat(64)}`]: [200, 'not json'],
      [`/manifest/${'e'.repeat(64)}`]: [500, { error: 'boom' }]
    })
    expect(await relay.manifest(a.contentId)).toEqual(a.manifest)
    await expect(relay.manifest(b.contentId)).rejects.toMatchObject({ name: 'ManifestMismatchError' })
    await expect(relay.manifest('c'.repeat(64))).rejects.toMatchObject({ name: 'ManifestMismatchError' })
    await expect(relay.manifest('d'.repeat(64))).rejects.toMatchObject({ name: 'RelayHttpError' })
    await expect(relay.manifest('e'.repeat(64))).rejects.toMatchObject({ name: 'RelayHttpError' })
    await expect(relay.manifest('f'.repeat(64))).rejects.toMatchObject({ name: 'UnknownVideoError' })
  })

  it('says when the relay does not answer', async () => {
    const relay = new RelayHttp('http://127.0.0.1:9')
    await expect(relay.list()).rejects.toMatchObject({ name: 'RelayHttpError', message: expect.stringMatching(/cannot be reached/) })
  })
})
