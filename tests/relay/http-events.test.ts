import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ListEntry } from '../../relay/catalogue'
import { makeContent, type TestContent } from '../helpers/content'
import { startRelay, type Holder, type TestRelay } from './helpers'
import { openEvents, type SseClient } from './sse-client'

let relay: TestRelay
let contents: TestContent[]
/** A real peer holding both contents, connected to the relay's node: the publisher. */
let holder: Holder
const clients: SseClient[] = []

beforeAll(async () => {
  relay = await startRelay()
  contents = await Promise.all([1, 2].map(async seed => await makeContent(300_000 + seed, { seed, name: `live_${seed}.webm` })))
  holder = await relay.holder(contents)
})
afterAll(async () => { await relay.close() })
afterEach(() => { for (const c of clients.splice(0)) c.close() })

async function connect (r: TestRelay = relay): Promise<SseClient> {
  const client = await openEvents(`${r.url}/events`)
  clients.push(client)
  return client
}

async function publish (content: TestContent): Promise<void> {
  const res = await fetch(`${relay.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: content.manifest, peerId: holder.peerId }) })
  expect(res.status).toBe(201)
}

const entryOf = (list: ListEntry[], id: string): ListEntry | undefined => list.find(e => e.contentId === id)

describe('GET /events', () => {
  it('opens a stream that starts with the catalogue, as /list has it', async () => {
    const client = await connect()
    expect(client.response.status).toBe(200)
    expect(client.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(client.response.headers.get('cache-control')).toBe('no-cache')
    expect(client.response.headers.get('x-accel-buffering')).toBe('no')
    const first = await client.until<ListEntry[]>('catalogue')
    expect(first).toEqual(await (await fetch(`${relay.url}/list`)).json())
    expect(first.map(e => e.filename)).toContain('sample.mp4')
  })

  it('sends the catalogue again after a publish', async () => {
    const [content] = contents as [TestContent]
    const client = await connect()
    const first = await client.until<ListEntry[]>('catalogue')
    expect(entryOf(first, content.contentId)).toBeUndefined()
    await publish(content)
    const next = await client.until<ListEntry[]>('catalogue')
    expect(next[0]).toMatchObject({ contentId: content.contentId, source: 'browser', origin: false, peers: 0 })
  })

  it('sends new peer counts when the tracker changes, merging a burst of changes into one event per 250 ms', async () => {
    const [, content] = contents as [TestContent, TestContent]
    await publish(content)
    const client = await connect()
    await client.until<ListEntry[]>('catalogue', list => entryOf(list, content.contentId) != null)

    const burst = (peers: string[], complete: boolean): void => {
      for (const p of peers) relay.registry.announce(p, [], [{ contentId: content.contentId, complete }])
    }
    const tenPeers = Array.from({ length: 10 }, (_, i) => `burst-${i}`)
    const seen: Array<{ peers: number, seeders: number }> = []
    const counts = (peers: number, seeders: number) => (list: ListEntry[]): boolean => {
      const e = entryOf(list, content.contentId)!
      seen.push({ peers: e.peers, seeders: e.seeders })
      return e.peers === peers && e.seeders === seeders
    }
    // the relay runs in this process: its throttle and this test read the same clock
    const start = performance.now()
    burst(tenPeers, false)
    await client.until<ListEntry[]>('catalogue', counts(10, 0))
    burst(tenPeers, true)
    await client.until<ListEntry[]>('catalogue', counts(10, 10))
    // the first burst's event left at `start` at the earliest, the second's at least 250 ms later
    expect(performance.now() - start).toBeGreaterThanOrEqual(250)
    // each burst of ten announcements was one event: no event showed a burst half done
    expect(seen.filter(s => (s.peers > 0 && s.peers < 10) || (s.seeders > 0 && s.seeders < 10))).toEqual([])

    for (const p of tenPeers) relay.registry.removePeer(p)
    await client.until<ListEntry[]>('catalogue', counts(0, 0))
  })

  it('HEAD /events answers the headers and no stream; other methods get 405', async () => {
    const head = await fetch(`${relay.url}/events`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(relay.events.size).toBe(0)
    const post = await fetch(`${relay.url}/events`, { method: 'POST' })
    expect(post.status).toBe(405)
  })

  it('a page navigation to /events/… is never answered with the web app', async () => {
    const res = await fetch(`${relay.url}/events/extra`, { headers: { accept: 'text/html' } })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  })
})

describe('GET /events: limits and lifetime', () => {
  let small: TestRelay
  beforeAll(async () => { small = await startRelay({ events: { maxClients: 2, pingIntervalMs: 50 } }) })
  afterAll(async () => { await small.close() })

  it('pings idle streams with a comment', async () => {
    const client = await connect(small)
    await client.until('catalogue')
    expect(await client.comment()).toBe('ping')
  })

  it('refuses a stream past maxClients with 503 JSON, and takes one again once a client leaves', async () => {
    const a = await connect(small)
    const b = await connect(small)
    await a.until('catalogue')
    await b.until('catalogue')
    const refused = await fetch(`${small.url}/events`)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('30')
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/Too many live catalogue streams \(2\)/) })

    const left = new Promise<void>(resolve => {
      const poll = (): void => { if (small.events.size < 2) resolve(); else setImmediate(poll) }
      poll()
    })
    a.close()
    await left
    const c = await connect(small)
    expect(c.response.status).toBe(200)
    await c.until('catalogue')
  })

  it('close() ends every open stream', async () => {
    const other = await startRelay()
    const client = await openEvents(`${other.url}/events`)
    await client.until('catalogue')
    other.events.close()
    expect(await client.next()).toBeUndefined() // the stream ended, no more events
    expect(other.events.size).toBe(0)
    const refused = await fetch(`${other.url}/events`)
    expect(refused.status).toBe(503)
    await other.close()
  })
})
