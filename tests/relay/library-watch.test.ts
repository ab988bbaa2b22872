import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeContent, type TestContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'

interface Listed { filename: string, contentId: string, alsoNamed?: string[] }

/**
 * Issue 13, row 7: the relay watches library/. A file copied in is listed
 * (and seeded: the tracker lists the origin) without a restart; a second
 * file with the same bytes is listed once, both names known; a file
 * changed in place is listed with its new bytes; a removed one leaves the
 * catalogue and the tracker. Real relay, real folder; every wait is on the
 * catalogue's change event.
 */
describe('the relay watches its library folder', () => {
  let relay: TestRelay
  let a: TestContent
  let b: TestContent
  const library = (): string => join(relay.dir, 'library')
  const list = async (): Promise<Listed[]> => await (await fetch(`${relay.relay.httpUrl()}/list`)).json() as Listed[]
  const origin = (): string => relay.relay.node.peerId.toString()

  /** Resolves once /list satisfies `ready` (checked now and at each catalogue change). */
  async function listed (ready: (entries: Listed[]) => boolean): Promise<Listed[]> {
    const now = await list()
    if (ready(now)) return now
    return await new Promise<Listed[]>((resolve, reject) => {
      const timer = setTimeout(() => { off(); reject(new Error('the catalogue did not change as expected within 15 s')) }, 15_000)
      const off = relay.relay.catalogue.onChange(() => {
        void list().then(entries => { if (ready(entries)) { clearTimeout(timer); off(); resolve(entries) } })
      })
    })
  }

  beforeAll(async () => {
    a = await makeContent(300_000, { seed: 71, name: 'first.mp4' })
    b = await makeContent(200_000, { seed: 72, name: 'second.mp4' })
    relay = await startRelay([])
  })
  afterAll(async () => { await relay?.close() })

  it('a file copied in is listed and seeded without a restart', async () => {
    // written under a dot-name, then renamed: as a careful copy does (a half-written file is never looked at)
    await writeFile(join(library(), '.first.mp4.tmp'), a.bytes)
    await rename(join(library(), '.first.mp4.tmp'), join(library(), 'first.mp4'))
    const entries = await listed(e => e.some(x => x.contentId === a.contentId))
    expect(entries.find(x => x.contentId === a.contentId)).toMatchObject({ filename: 'first.mp4' })
    expect(relay.relay.registry.holds(a.contentId as any, origin())).toBe(true)
    expect(Buffer.from(await (await fetch(`${relay.relay.httpUrl()}/videos/first.mp4`)).arrayBuffer()).equals(Buffer.from(a.bytes))).toBe(true)
  })

  it('the same bytes under a second name: listed once, both names known', async () => {
    await writeFile(join(library(), 'copy of first.mp4'), a.bytes)
    const entries = await listed(e => e.find(x => x.contentId === a.contentId)?.alsoNamed?.includes('copy of first.mp4') === true)
    expect(entries.filter(x => x.contentId === a.contentId)).toEqual([expect.objectContaining({ filename: 'first.mp4', alsoNamed: ['copy of first.mp4'] })])
  })

  it('the listed name removed: the video stays, under its other name', async () => {
    await rm(join(library(), 'first.mp4'))
    const entries = await listed(e => e.find(x => x.contentId === a.contentId)?.filename === 'copy of first.mp4')
    expect(entries.find(x => x.contentId === a.contentId)?.alsoNamed).toBeUndefined()
    expect((await fetch(`${relay.relay.httpUrl()}/videos/${encodeURIComponent('copy of first.mp4')}`)).status).toBe(200)
  })

  it('a file changed in place: listed with its new bytes, the old ones gone', async () => {
    await writeFile(join(library(), 'copy of first.mp4'), b.bytes)
    const entries = await listed(e => e.some(x => x.contentId === b.contentId) && !e.some(x => x.contentId === a.contentId))
    expect(entries.find(x => x.contentId === b.contentId)?.filename).toBe('copy of first.mp4')
    expect(relay.relay.registry.holds(a.contentId as any, origin())).toBe(false)
    expect(relay.relay.registry.holds(b.contentId as any, origin())).toBe(true)
  })

  it('a removed file whose video peers hold: still listed, as one only peers share', async () => {
    const c = await makeContent(150_000, { seed: 73, name: 'held.mp4' })
    await writeFile(join(library(), 'held.mp4'), c.bytes)
    await listed(e => e.some(x => x.contentId === c.contentId))
    relay.relay.registry.announce('12D3KooWPeerThatHoldsItxxxxxxxxxxxxxxxxxxxxxxxxxxxx', [], [{ contentId: c.contentId as any, complete: true }])
    await rm(join(library(), 'held.mp4'))
    const entries = await listed(e => e.some(x => x.contentId === c.contentId && (x as any).origin === false))
    expect(entries.find(x => x.contentId === c.contentId)).toMatchObject({ filename: 'held.mp4', origin: false, source: 'library', peers: 1 })
    expect(relay.relay.registry.holds(c.contentId as any, origin())).toBe(false)
  })

  it('the last file removed: the video leaves the catalogue and the tracker', async () => {
    await rm(join(library(), 'copy of first.mp4'))
    await listed(e => !e.some(x => x.contentId === b.contentId))
    expect(relay.relay.registry.holds(b.contentId as any, origin())).toBe(false)
    expect((await fetch(`${relay.relay.httpUrl()}/videos/${encodeURIComponent('copy of first.mp4')}`)).status).toBe(404)
  })
})
