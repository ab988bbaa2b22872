import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import type { ContentId, Manifest } from '@core/content/manifest'
import type { RemoteVideo } from '@core/protocols/catalogue'
import { RemoteCatalogues } from '../../../relay/peers/index'
import { ManifestCache } from '../../../relay/peers/manifest-cache'
import { makeContent, type TestContent } from '../../helpers/content'

/**
 * The merging, grace and manifest cache of RemoteCatalogues, with the two
 * protocol requests given as functions (the protocol itself runs between
 * real relays in tests/relay/peer-relays*.test.ts).
 */
const video = (c: TestContent, filename = c.manifest.name): RemoteVideo => ({
  filename, title: filename, size: c.manifest.size, mime: c.manifest.mime, contentId: c.contentId, chunks: c.manifest.hashes.length, chunkSize: c.manifest.chunkSize
})

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

function changed (remote: RemoteCatalogues): Promise<void> {
  return new Promise(resolve => { const off = remote.onChange(() => { off(); resolve() }) })
}

describe('RemoteCatalogues', () => {
  it('merges the relays in the order given: a content or a name (case-blind) an earlier one lists is left out', async () => {
    const [x, y] = [await peer(), await peer()]
    const [one, two, three] = await Promise.all([1, 2, 3].map(async seed => await makeContent(1000 + seed, { seed, name: `v${seed}.mp4` })))
    const lists = new Map<string, RemoteVideo[]>([
      [x.toString(), [video(one!), video(two!)]],
      [y.toString(), [video(one!, 'same-bytes.mp4'), video(three!, 'V2.MP4'), video(three!, 'v3.mp4')]]
    ])
    const remote = new RemoteCatalogues({
      relays: [x, y],
      // the connection names its relay, so that the list function knows whose list to give
      connection: p => ({ peer: p.toString() }) as never,
      log: defaultLogger().forComponent('test'),
      ask: {
        list: async (c) => lists.get((c as unknown as { peer: string }).peer) ?? [],
        manifest: async () => undefined
      }
    })
    let change = changed(remote)
    remote.up(y)
    await change
    expect(remote.entries().map(e => e.filename)).toEqual(['same-bytes.mp4', 'V2.MP4'])
    change = changed(remote)
    remote.up(x)
    await change
    // y's copy of x's v1 goes, and its V2.MP4 (x's name); the same bytes under a free name stay
    expect(remote.entries().map(e => `${e.relay === x.toString() ? 'x' : 'y'}:${e.filename}`)).toEqual(['x:v1.mp4', 'x:v2.mp4', 'y:v3.mp4'])
    remote.stop()
  })

  it('asks for a manifest once however many ask at once, keeps it while the video is listed, and drops a lost relay\'s videos after the grace', async () => {
    const x = await peer()
    const content = await makeContent(5000, { seed: 9, name: 'm.mp4' })
    let asked = 0
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const remote = new RemoteCatalogues({
      relays: [x],
      connection: () => ({ newStream: async () => { throw new Error('unused') } }),
      graceMs: 50,
      log: defaultLogger().forComponent('test'),
      ask: {
        list: async () => [video(content)],
        manifest: async (): Promise<Manifest> => { asked++; await gate; return content.manifest }
      }
    })
    const listed = changed(remote)
    remote.up(x)
    await listed
    const three = Promise.all([1, 2, 3].map(async () => await remote.manifest(content.contentId)))
    release()
    expect(await three).toEqual([content.manifest, content.manifest, content.manifest])
    expect(await remote.manifest(content.contentId)).toEqual(content.manifest)
    expect(asked).toBe(1)

    const gone = changed(remote)
    remote.down(x)
    expect(remote.entries()).toHaveLength(1) // within the grace
    await gone
    expect(remote.entries()).toHaveLength(0)
    expect(await remote.manifest(content.contentId)).toBeUndefined()
    remote.stop()
  })

  it('fetches the manifests of a listed relay ahead, one at a time, leaving out those the cache has no room for; they are there once the relay has left', async () => {
    const x = await peer()
    const [small, big, last] = await Promise.all([
      makeContent(3 * 16_384, { seed: 11, name: 'small.mp4', chunkSize: 16_384 }),
      makeContent(40 * 16_384, { seed: 12, name: 'big.mp4', chunkSize: 16_384 }),
      makeContent(2 * 16_384, { seed: 13, name: 'last.mp4', chunkSize: 16_384 })
    ])
    const manifests = new Map<ContentId, Manifest>([small!, big!, last!].map(c => [c.contentId, c.manifest]))
    const asked: string[] = []
    let inFlight = 0
    let lastAsked!: () => void
    const done = new Promise<void>(resolve => { lastAsked = resolve })
    const remote = new RemoteCatalogues({
      relays: [x],
      connection: () => ({ newStream: async () => { throw new Error('unused') } }),
      // room for small's and last's manifests, not big's
      maxCachedManifestBytes: ManifestCache.estimate(3) + ManifestCache.estimate(2) + 10,
      prefetchIntervalMs: 0,
      graceMs: 60_000,
      log: defaultLogger().forComponent('test'),
      ask: {
        list: async () => [video(small!), video(big!), video(last!)],
        manifest: async (_c, contentId): Promise<Manifest | undefined> => {
          expect(++inFlight).toBe(1)
          asked.push(manifests.get(contentId)!.name)
          await Promise.resolve()
          inFlight--
          if (contentId === last!.contentId) lastAsked()
          return manifests.get(contentId)
        }
      }
    })
    remote.up(x)
    await done
    expect(asked).toEqual(['small.mp4', 'last.mp4'])
    // the relay leaves: within the grace, both are given with no one asking it
    remote.down(x)
    const before = asked.length
    expect(await remote.manifest(small!.contentId)).toEqual(small!.manifest)
    expect(await remote.manifest(last!.contentId)).toEqual(last!.manifest)
    expect(asked).toHaveLength(before)
    remote.stop()
  })
  it('asks ahead once for a manifest that fails, not after every poll, and again when the list changes', async () => {
    const x = await peer()
    const [lied, added] = await Promise.all([
      makeContent(2 * 16_384, { seed: 14, name: 'lied.mp4', chunkSize: 16_384 }),
      makeContent(2 * 16_384, { seed: 15, name: 'added.mp4', chunkSize: 16_384 })
    ])
    let list = [video(lied!)]
    const asked: string[] = []
    // each poll is a timer of its own: when list() is called for the n-th time,
    // everything the (n-1)-th poll started (all microtasks here) has run
    const polls: Array<() => void> = []
    const poll = async (n: number): Promise<void> => { await new Promise<void>(resolve => { polls[n] = resolve }) }
    let listed = 0
    const remote = new RemoteCatalogues({
      relays: [x],
      connection: () => ({ newStream: async () => { throw new Error('unused') } }),
      pollIntervalMs: 5,
      prefetchIntervalMs: 0,
      log: defaultLogger().forComponent('test'),
      ask: {
        list: async () => { polls[++listed]?.(); return list },
        manifest: async (_c, contentId): Promise<Manifest | undefined> => {
          asked.push(contentId === lied!.contentId ? 'lied.mp4' : 'added.mp4')
          throw Object.assign(new Error('not this content'), { name: 'ContentIdMismatchError' })
        }
      }
    })
    const fourth = poll(4)
    remote.up(x)
    await fourth
    expect(asked).toEqual(['lied.mp4'])
    // a viewer's request still asks, and is refused
    await expect(remote.manifest(lied!.contentId)).rejects.toThrow(/not this video's/)
    expect(asked).toEqual(['lied.mp4', 'lied.mp4'])
    // a new list: both are asked ahead, once
    list = [video(lied!), video(added!)]
    const later = poll(listed + 4)
    await later
    expect(asked).toEqual(['lied.mp4', 'lied.mp4', 'lied.mp4', 'added.mp4'])
    remote.stop()
  })
})
