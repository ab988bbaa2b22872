import { open, readFile, readdir, stat, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chunkProtocol, ChunkUnavailableError } from '@core/protocols/chunk'
import { MemoryChunkStore } from '@core/store/memory-store'
import { Bitfield } from '@core/swarm/bitfield'
import { chunkOf, digest, makeContent, type TestContent } from '../helpers/content'
import { createTestNode } from '../helpers/nodes'
import { startRelay, type TestRelay } from '../helpers/relay'
import { nextEvent, postDownload, startBridge } from '../helpers/bridge'
import { gatedRelay, OriginGate } from './origin-gate'

const CHUNK = 256 * 1024
const CHUNKS = 12
/** The chunk a byte is flipped in, and where. */
const BAD = 5
const AT = BAD * CHUNK + 1234

/** Flip one byte of `path` in place (same inode); returns the byte it had. */
async function flipByte (path: string, at: number): Promise<number> {
  const file = await open(path, 'r+')
  try {
    const one = new Uint8Array(1)
    await file.read(one, 0, 1, at)
    await file.write(new Uint8Array([one[0]! ^ 0xff]), 0, 1, at)
    return one[0]!
  } finally {
    await file.close()
  }
}

/** What GET /stream sent, read as it comes, and the error that ended it early if one did. */
async function streamReceived (url: string): Promise<{ bytes: Uint8Array, error?: Error }> {
  const parts: Uint8Array[] = []
  let error: Error | undefined
  try {
    const reader = (await fetch(url)).body!.getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      parts.push(value)
    }
  } catch (err) {
    error = err as Error
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) { bytes.set(p, at); at += p.byteLength }
  return { bytes, error }
}

/** The whole of GET /stream, or the error that ended it early. */
async function streamAll (url: string): Promise<{ bytes?: Uint8Array, error?: Error }> {
  try {
    return { bytes: new Uint8Array(await (await fetch(url)).arrayBuffer()) }
  } catch (error) {
    return { error: error as Error }
  }
}

describe('a byte changed in a complete file of the cache, mtime kept: never served, fetched again', () => {
  const NAME = 'video_flip.mp4'
  let content: TestContent
  let relay: TestRelay

  beforeAll(async () => {
    content = await makeContent((CHUNKS - 1) * CHUNK + 999, { seed: 61, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
  })
  afterAll(async () => {
    await relay?.close()
  })

  it('GET /stream never sends the bad byte, HAVE stops claiming the chunk, the chunk comes again, the file ends whole', async () => {
    const bridge = await startBridge(relay)
    try {
      await postDownload(bridge.url, NAME)
      await bridge.waitFor(NAME, 'seeding')
      const path = join(bridge.dir, 'cache', NAME)
      // a round mtime the file keeps through the change below (utimes sets it back exactly)
      const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)
      await utimes(path, mtime, mtime)
      // read once whole: every chunk verified under the file as it is now (the steady state)
      expect(digest(new Uint8Array(await (await fetch(`${bridge.url}/stream/${NAME}`)).arrayBuffer()))).toBe(digest(content.bytes))

      const before = await stat(path, { bigint: true })
      const original = await flipByte(path, AT)
      await utimes(path, mtime, mtime)
      const after = await stat(path, { bigint: true })
      expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs])
      expect(after.ctimeNs).not.toBe(before.ctimeNs) // only the kernel's change time tells

      const downloading = bridge.waitFor(NAME, 'downloading')
      const streamed = await streamAll(`${bridge.url}/stream/${NAME}`)
      // the response either waited for the chunk fetched again or ended early: never the bad byte
      if (streamed.bytes != null && streamed.bytes.byteLength > AT) expect(streamed.bytes[AT]).toBe(original)
      expect(streamed.error).toBeUndefined()
      expect(digest(streamed.bytes!)).toBe(digest(content.bytes))
      // the file became a download of the same content, and completed again
      expect((await downloading).content_id).toBe(content.contentId)
      const again = await bridge.waitFor(NAME, 'seeding')
      expect(again.content_id).toBe(content.contentId)
      expect(digest(await readFile(path))).toBe(digest(content.bytes))
      expect((await bridge.bridge.store.have(content.contentId))!.isComplete()).toBe(true)
      const stats = await (await bridge.api('/stats')).json()
      expect(stats.damaged_chunks).toBe(1)
      // what was fetched again: that chunk, not the file
      expect(stats.bytes_from_peers + stats.bytes_from_origin).toBe(content.manifest.size + CHUNK)
      expect(await (await bridge.api('/metrics')).text()).toMatch(/^pipbingo_bridge_damaged_chunks_total 1$/m)
      expect(await bridge.bridge.store.listContents()).toEqual([content.contentId])
    } finally {
      await bridge.close()
    }
  }, 60_000)

  it('a chunk found damaged is dropped from what the bridge says it has before it is fetched again', async () => {
    const gate = await OriginGate.start(relay)
    const bridge = await startBridge(relay, { relayHttp: gate.url })
    try {
      gate.open(content.contentId)
      await postDownload(bridge.url, NAME)
      await bridge.waitFor(NAME, 'seeding')
      gate.shut(content.contentId) // nothing more from the origin: the repair waits
      const path = join(bridge.dir, 'cache', NAME)
      const { mtime, atime } = await stat(path)
      await flipByte(path, AT)
      await utimes(path, atime, mtime)
      // a peer, over /pipbingo/chunk/1.1.0: the chunk is refused, and HAVE no longer claims it
      const peer = await createTestNode({ chunk: chunkProtocol({ store: new MemoryChunkStore() }) })
      try {
        const addr = bridge.bridge.node.getMultiaddrs().find(a => a.toString().includes('/tcp/') && !a.toString().includes('/ws'))!
        await peer.dial(addr)
        const channel = await peer.services.chunk.channel(bridge.bridge.node.peerId)
        const claimed = new Bitfield(CHUNKS, await channel.have(content.contentId))
        expect(claimed.isComplete()).toBe(true) // not read since the change: not known yet
        await expect(channel.getChunk(content.contentId, BAD)).rejects.toThrow(ChunkUnavailableError)
        const now = new Bitfield(CHUNKS, await channel.have(content.contentId))
        expect(now.has(BAD)).toBe(false)
        expect(now.count()).toBe(CHUNKS - 1)
        expect(await channel.getChunk(content.contentId, BAD + 1)).toEqual(chunkOf(content, BAD + 1))
      } finally {
        await peer.stop()
      }
      const status = await bridge.waitFor(NAME, 'downloading')
      expect(status.chunks_downloaded).toBe(CHUNKS - 1)
      expect(await readdir(join(bridge.dir, 'cache'))).toContain(`${NAME}.part`)
      gate.open(content.contentId)
      await bridge.waitFor(NAME, 'seeding')
      expect(digest(await readFile(path))).toBe(digest(content.bytes))
    } finally {
      await bridge.close()
      await gate.close()
    }
  }, 60_000)
})

describe('GET /stream of a damaged file when its download cannot run now', () => {
  const NAME = 'video_busy.mp4'
  const OTHERS = ['video_o1.mp4', 'video_o2.mp4', 'video_o3.mp4']
  let content: TestContent
  let others: TestContent[]
  let relay: TestRelay
  let gate: OriginGate

  beforeAll(async () => {
    content = await makeContent((CHUNKS - 1) * CHUNK + 77, { seed: 63, name: NAME })
    others = await Promise.all(OTHERS.map(async (name, k) => await makeContent(4 * CHUNK, { seed: 70 + k, name })))
    relay = await startRelay([content, ...others].map(c => ({ name: c.manifest.name, bytes: c.bytes })))
    gate = await OriginGate.start(relay)
  })
  afterAll(async () => {
    await gate?.close()
    await relay?.close()
  })

  it('ends the response unfinished, having sent no byte of the bad chunk; the download runs once a slot frees', async () => {
    const bridge = await startBridge(relay, { relayHttp: gate.url })
    try {
      gate.open(content.contentId)
      await postDownload(bridge.url, NAME)
      await bridge.waitFor(NAME, 'seeding')
      // the three download slots taken by downloads the origin holds back
      for (const name of OTHERS) await postDownload(bridge.url, name)
      for (const name of OTHERS) await bridge.waitFor(name, 'downloading')
      const path = join(bridge.dir, 'cache', NAME)
      const { atime, mtime } = await stat(path)
      await flipByte(path, AT)
      await utimes(path, atime, mtime)

      const received = await streamReceived(`${bridge.url}/stream/${NAME}`)
      expect(received.error).toBeDefined()
      expect(received.bytes.byteLength).toBeLessThanOrEqual(BAD * CHUNK) // nothing of the bad chunk
      expect(digest(received.bytes)).toBe(digest(content.bytes.subarray(0, received.bytes.byteLength)))
      expect(bridge.bridge.manager.get(NAME)!.state).toBe('queued')

      for (const c of others) gate.open(c.contentId)
      await bridge.waitFor(NAME, 'seeding')
      expect(digest(await readFile(path))).toBe(digest(content.bytes))
    } finally {
      await bridge.close()
    }
  }, 60_000)
})

describe('a byte changed in a complete file while the bridge was stopped, mtime changed: the same content, repaired', () => {
  const NAME = 'video_touched.mp4'
  const rig = gatedRelay(NAME, (CHUNKS - 1) * CHUNK + 4321, 62)

  it('is checked against the manifest it had, keeps its good chunks and fetches the bad one, said on the console', async () => {
    rig.gate.open(rig.content.contentId)
    const first = await rig.spawn('en')
    const seeding = nextEvent(first.url, (event, d: any) => event === 'state' && d.status.filename === NAME && d.to === 'seeding')
    await postDownload(first.url, NAME)
    await seeding
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    const path = join(rig.dir, 'cache', NAME)
    const before = await stat(path)
    await flipByte(path, AT)
    await utimes(path, before.atime, new Date(before.mtimeMs + 5000)) // and the mtime moved
    const passedBefore = rig.gate.passed.get(rig.content.contentId) ?? 0
    rig.gate.shut(rig.content.contentId)

    const second = await rig.spawn('fr')
    const status = (await (await fetch(`${second.url}/status`)).json())
    expect(Object.keys(status)).toEqual([NAME])
    expect(status[NAME].content_id).toBe(rig.content.contentId) // not a new content under the same name
    expect(second.output).toContain(`⚠️  ${NAME} est endommagé dans le cache: 1 chunks sur ${CHUNKS} ne correspondent pas à leur empreinte; ils ne sont plus servis et sont téléchargés de nouveau`)
    expect(status[NAME].status).toBe('downloading')
    expect(status[NAME].chunks_downloaded).toBe(CHUNKS - 1)
    expect((await (await fetch(`${second.url}/stats`)).json()).damaged_chunks).toBe(1)

    const again = nextEvent(second.url, (event, d: any) => event === 'state' && d.status.filename === NAME && d.to === 'seeding')
    rig.gate.open(rig.content.contentId)
    expect((await again).status.content_id).toBe(rig.content.contentId)
    // one chunk fetched again, not the file
    expect((rig.gate.passed.get(rig.content.contentId) ?? 0) - passedBefore).toBe(1)
    expect(digest(await readFile(path))).toBe(digest(rig.content.bytes))
    expect(digest(new Uint8Array(await (await fetch(`${second.url}/stream/${NAME}`)).arrayBuffer()))).toBe(digest(rig.content.bytes))
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 90_000)
})
