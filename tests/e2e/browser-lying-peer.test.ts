import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { logger } from '@libp2p/logger'
import { webSockets } from '@libp2p/websockets'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildManifest } from '@core/content/builder'
import { chunkProtocol } from '@core/protocols/chunk'
import { trackerClient, type TrackerClient } from '@core/protocols/tracker'
import { Announcer } from '@core/swarm/announcer'
import { openApp, startWebRig, statsOf, waitPlaying, type WebRig } from '../helpers/web'
import { inPieces } from '../helpers/content'
import { LyingStore } from '../helpers/stores'

describe('a peer that sends corrupt chunks to a tab', () => {
  let rig: WebRig
  let liar: Libp2p<{ tracker: TrackerClient }>
  let announcer: Announcer

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4'])
    const bytes = new Uint8Array(await readFile('library/sample.mp4'))
    const { manifest, contentId } = await buildManifest(inPieces(bytes), { name: 'sample.mp4', mime: 'video/mp4' })
    const store = new LyingStore(7)
    await store.putManifest(manifest)
    for (let i = 0; i < manifest.hashes.length; i++) {
      await store.putChunk(contentId, i, bytes.subarray(i * manifest.chunkSize, (i + 1) * manifest.chunkSize))
    }
    // reachable by browsers over WebSockets on loopback
    liar = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0/ws'] },
      transports: [webSockets(), tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        chunk: chunkProtocol({ store }),
        tracker: trackerClient({ tracker: rig.relay.multiaddrs()[0]! })
      }
    }) as any
    announcer = new Announcer({ locator: liar.services.tracker, log: logger('test:liar') })
    announcer.set(contentId, true)
    await announcer.settled()
  }, 120_000)

  afterAll(async () => {
    announcer?.stop()
    await liar?.stop()
    await rig?.close()
  })

  it('never lets a corrupt chunk reach the video: the tab drops the liar and fetches elsewhere', async () => {
    const browser = await rig.newBrowser()
    const tab = await openApp(browser, `${rig.relay.httpUrl()}/?play=sample.mp4`)
    await waitPlaying(tab)
    const id = rig.relay.library.byFilename('sample.mp4')!.contentId
    await tab.waitForFunction((cid) => (window.pipbingo.stats() as any)?.contents.find((c: any) => c.contentId === cid)?.complete === true, id, { timeout: 30_000 })
    const stats = await statsOf(tab)
    // the liar was asked, its bytes thrown away, and it is no longer a source
    expect(stats.bytesDiscarded).toBeGreaterThan(0)
    expect(stats.bySource[liar.peerId.toString()]).toBeUndefined()
    expect(stats.current.sources.some((s: any) => s.id === liar.peerId.toString())).toBe(false)
    // what the video element reads is the origin's file, byte for byte
    const sha = await tab.evaluate(async (cid) => {
      const s = window.pipbingo.stats() as any
      const body = await (await fetch(`/stream/${s.profile}/${cid}`)).arrayBuffer()
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', body))].map(b => b.toString(16).padStart(2, '0')).join('')
    }, id)
    expect(sha).toBe(createHash('sha256').update(await readFile('library/sample.mp4')).digest('hex'))
    const error = await tab.locator('video').evaluate((v: HTMLVideoElement) => v.error)
    expect(error).toBeNull()
  })
})
