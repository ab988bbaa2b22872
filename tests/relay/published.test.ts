import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { PublishedCatalogue, type PublishedCatalogueInit } from '../../relay/published/index'
import { makeContent, type TestContent } from '../helpers/content'

const GRACE = 60_000
let dir: string
let t: number
let warnings: string[]
let contents: TestContent[]
const open: PublishedCatalogue[] = []

beforeAll(async () => {
  contents = await Promise.all([1, 2, 3].map(async seed => await makeContent(100_000 * seed, { seed, name: `v${seed}.webm` })))
})
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipbingo-published-'))
  t = 1_000_000
  warnings = []
})
afterEach(async () => {
  for (const c of open.splice(0)) await c.close()
  await rm(dir, { recursive: true, force: true })
})

async function openCatalogue (init: Partial<PublishedCatalogueInit> = {}): Promise<PublishedCatalogue> {
  const c = await PublishedCatalogue.open({ dataDir: dir, graceMs: GRACE, maxEntries: 10, now: () => t, onWarning: m => { warnings.push(m) }, ...init })
  open.push(c)
  return c
}

const a = (): TestContent => contents[0]!
const b = (): TestContent => contents[1]!
const c = (): TestContent => contents[2]!

describe('PublishedCatalogue', () => {
  it('persists entries, manifests and the held state across a restart', async () => {
    const first = await openCatalogue()
    expect((await first.publish(a().manifest, { title: 'Film A', held: true })).created).toBe(true)
    t += 10
    await first.publish(b().manifest, { held: false, from: 'library' })
    expect(first.setHeld(a().contentId, false)).toBe(true)
    expect(first.setHeld(a().contentId, false)).toBe(false) // no change
    await first.close()
    expect((await readdir(dir)).sort()).toEqual(['published', 'published.json'])
    expect((await readdir(join(dir, 'published'))).sort()).toEqual([a().contentId, b().contentId].map(id => `${id}.json`).sort())

    const again = await openCatalogue()
    expect(again.entries()).toEqual([
      { filename: 'v2.webm', title: 'v2', size: b().manifest.size, mime: 'video/mp4', contentId: b().contentId, chunks: 1, chunkSize: 256 * 1024, publishedAt: 1_000_010, unheldSince: 1_000_010, from: 'library' },
      { filename: 'v1.webm', title: 'Film A', size: a().manifest.size, mime: 'video/mp4', contentId: a().contentId, chunks: 1, chunkSize: 256 * 1024, publishedAt: 1_000_000, unheldSince: 1_000_010 }
    ])
    expect(await again.manifest(a().contentId)).toEqual(a().manifest)
    expect(again.byFilename('v1.webm')?.contentId).toBe(a().contentId)
    expect(warnings).toEqual([])
  })

  it('drops an entry nobody held for the grace period, and only that one', async () => {
    const cat = await openCatalogue()
    await cat.publish(a().manifest, { held: false })
    await cat.publish(b().manifest, { held: true })
    await cat.publish(c().manifest, { held: false })
    t += GRACE / 2
    cat.setHeld(c().contentId, true) // someone picked it up
    t += GRACE / 2 - 1
    expect(await cat.sweep()).toEqual([])
    t += 1
    expect((await cat.sweep()).map(e => e.contentId)).toEqual([a().contentId])
    expect(cat.entries().map(e => e.contentId).sort()).toEqual([b().contentId, c().contentId].sort())
    expect(await cat.manifest(a().contentId)).toBeUndefined()
    expect(await readdir(join(dir, 'published'))).not.toContain(`${a().contentId}.json`)
    const index = JSON.parse(await readFile(join(dir, 'published.json'), 'utf8')) as { entries: Array<{ contentId: string }> }
    expect(index.entries.map(e => e.contentId)).not.toContain(a().contentId)

    // held entries never expire; one let go expires a grace period later
    t += 10 * GRACE
    expect(await cat.sweep()).toEqual([])
    cat.setHeld(b().contentId, false)
    t += GRACE
    expect((await cat.sweep()).map(e => e.contentId)).toEqual([b().contentId])
  })

  it('publishing the same content twice at once creates one entry', async () => {
    const cat = await openCatalogue()
    const results = await Promise.all([cat.publish(a().manifest, { held: true }), cat.publish({ ...a().manifest, name: 'other.webm' }, { held: true })])
    expect(results.map(r => r.created).sort()).toEqual([false, true])
    expect(cat.size).toBe(1)
  })

  it('is full at maxEntries, but makes room by dropping expired entries first', async () => {
    const cat = await openCatalogue({ maxEntries: 2 })
    await cat.publish(a().manifest, { held: false })
    await cat.publish(b().manifest, { held: true })
    await expect(cat.publish(c().manifest, { held: true })).rejects.toMatchObject({ name: 'PublishedCatalogueFullError' })
    expect(cat.size).toBe(2)
    t += GRACE
    expect((await cat.publish(c().manifest, { held: true })).created).toBe(true)
    expect(cat.entries().map(e => e.contentId).sort()).toEqual([b().contentId, c().contentId].sort())
  })

  it.each([
    ['not JSON', '{"version":1,"entries":['],
    ['another version', '{"version":2,"entries":[]}'],
    ['entries that are not a list', '{"version":1,"entries":{}}'],
    ['a content id that is a path', '{"version":1,"entries":[{"contentId":"../../etc/passwd","title":"x","publishedAt":1,"unheldSince":null}]}'],
    ['an empty file', '']
  ])('a malformed published.json (%s) is reported and set aside; the catalogue starts empty', async (_name, text) => {
    const first = await openCatalogue()
    await first.publish(a().manifest, { held: true })
    await first.close()
    await writeFile(join(dir, 'published.json'), text)
    const cat = await openCatalogue()
    expect(cat.size).toBe(0)
    expect(warnings).toEqual([expect.stringMatching(/published\.json is malformed .*starting with no published videos/)])
    expect(await readFile(join(dir, 'published.json.corrupt'), 'utf8')).toBe(text)
    // and it works: a new publication is saved
    await cat.publish(b().manifest, { held: true })
    expect((await openCatalogue()).entries().map(e => e.contentId)).toEqual([b().contentId])
  })

  it('keeps its manifests within maxManifestBytes (counted again at start), dropping expired entries first', async () => {
    const sizeOf = (x: TestContent): number => new TextEncoder().encode(JSON.stringify(x.manifest)).byteLength
    const budget = sizeOf(b()) + sizeOf(c()) // a() is the smallest: a() and b() fit, then c() only once a() is gone
    const first = await openCatalogue({ maxManifestBytes: budget })
    await first.publish(a().manifest, { held: false })
    await first.publish(b().manifest, { held: true })
    expect(first.bytes).toBe(sizeOf(a()) + sizeOf(b()))
    await first.close()

    const cat = await openCatalogue({ maxManifestBytes: budget })
    expect(cat.bytes).toBe(sizeOf(a()) + sizeOf(b()))
    await expect(cat.publish(c().manifest, { held: true })).rejects.toMatchObject({
      name: 'PublishedCatalogueFullError',
      message: expect.stringMatching(/^The relay's published manifests take \d+\.\d KiB of the \d+\.\d KiB it keeps for them, and this one is \d+\.\d KiB: try again once some are no longer shared$/)
    })
    expect(cat.size).toBe(2)
    t += GRACE // a() has been unheld for the grace period: it makes room
    expect((await cat.publish(c().manifest, { held: true })).created).toBe(true)
    expect(cat.entries().map(e => e.contentId).sort()).toEqual([b().contentId, c().contentId].sort())
    expect(cat.bytes).toBe(sizeOf(b()) + sizeOf(c()))
  })

  it('leaves out an entry whose manifest is missing or does not match, keeps the others, and tidies the folder', async () => {
    const first = await openCatalogue()
    for (const x of [a(), b(), c()]) await first.publish(x.manifest, { held: true })
    await first.close()
    await rm(join(dir, 'published', `${a().contentId}.json`))
    await writeFile(join(dir, 'published', `${b().contentId}.json`), JSON.stringify(c().manifest))
    await writeFile(join(dir, 'published', `${'f'.repeat(64)}.json`), 'orphan')
    await writeFile(join(dir, 'published', 'x.json.1234.tmp'), 'half written')

    const cat = await openCatalogue()
    expect(cat.entries().map(e => e.contentId)).toEqual([c().contentId])
    expect(warnings).toHaveLength(2)
    expect(warnings.join('\n')).toMatch(new RegExp(`${a().contentId} out: .*ENOENT`))
    expect(warnings.join('\n')).toMatch(new RegExp(`${b().contentId} out: its manifest does not match its content id`))
    expect(await readdir(join(dir, 'published'))).toEqual([`${c().contentId}.json`])
    // the index was rewritten without them: the next start is quiet
    warnings = []
    await cat.close()
    expect((await openCatalogue()).size).toBe(1)
    expect(warnings).toEqual([])
  })
})
