import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ContactStore } from '../../node-bridge/contacts/store'
import { loadOrCreateIdentity } from '../../node-bridge/identity'

describe('ContactStore on disk', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pipbingo-contacts-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('removes the temporary files a killed process left beside contacts.json and identity.key, and nothing else', async () => {
    await writeFile(join(dir, 'contacts.json'), JSON.stringify({ version: 1, contacts: [] }))
    for (const name of ['contacts.json.4242.7.tmp', 'contacts.json.99.tmp', 'identity.key.4242.tmp', 'notes.tmp', 'contacts.json.bak']) await writeFile(join(dir, name), 'x')
    await ContactStore.open(dir)
    await loadOrCreateIdentity(dir)
    expect((await readdir(dir)).sort()).toEqual(['contacts.json', 'contacts.json.bak', 'identity.key', 'notes.tmp'])
  })

  it('200 adds at once (their writes coalesced): once all have resolved, the file holds every one, in order, and no temporary file is left', async () => {
    const store = await ContactStore.open(dir)
    await Promise.all(Array.from({ length: 200 }, async (_, i) => { await store.add(`c${i}`, 'AAAA') }))
    const file = JSON.parse(await readFile(join(dir, 'contacts.json'), 'utf8')) as { contacts: Array<{ name: string }> }
    expect(file.contacts.map(c => c.name)).toEqual(Array.from({ length: 200 }, (_, i) => `c${i}`))
    expect((await readdir(dir)).filter(f => f.endsWith('.tmp'))).toEqual([])
  })
})
