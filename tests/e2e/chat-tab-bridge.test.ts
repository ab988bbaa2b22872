import { createHash, randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestRelay } from '../helpers/relay'
import { openApp, startWebRig, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'
import type { TestIpcClient } from '../node-bridge/ipc/client'
import { nameRegistered, peerRegistered, startChatBridge, type ChatBridge } from '../node-bridge/ipc/helpers'

/** The tab in a namespace of its own, so nothing of it rides on this machine's own address. */
const describe = await describeWithNamespaces()

/**
 * Issue 15: a tab is a chat peer like a bridge. Real relay,
 * real bridges (in this process), a real Chromium tab with its IndexedDB:
 * the tab and a bridge find each other by the names they register with
 * the relay, negotiate X-Wing keys, and talk both ways through the
 * bridge's IPC, with the Chat page; two tabs in two browser processes do
 * the same and send each other a file. The tab seals every message it sends.
 */
describe('chat in the web app: tabs and bridges on one network', () => {
  let rig: WebRig
  let browser: Browser
  let tab: Page
  let alice: ChatBridge
  let toAlice: TestIpcClient
  let relay: TestRelay
  /** Tabitha, the tab of a second browser process. */
  let other: Page

  const tabName = 'Tabby'

  /** Frames Alice's chat wrote and read, as they crossed the stream (sealed or not). */
  const frames: Uint8Array[] = []
  /** Set: Alice's next sealed MESSAGE frame leaves with its last byte (in the AES-GCM tag) flipped. */
  let flipNextMessage = false

  /** How many records a store of the page's chat database holds (read as the page itself could). */
  async function storedIn (page: Page, store: 'pieces' | 'files' | 'messages'): Promise<number> {
    return await page.evaluate(async (name) => await new Promise<number>((resolve, reject) => {
      const open = indexedDB.open('pipbingo-chat-p0')
      open.onerror = () => { reject(open.error) }
      open.onsuccess = () => {
        const db = open.result
        const count = db.transaction(name).objectStore(name).count()
        count.onsuccess = () => { db.close(); resolve(count.result) }
        count.onerror = () => { db.close(); reject(count.error) }
      }
    }), store)
  }

  async function tabRegistered (page: Page, name = tabName): Promise<string> {
    const id = await page.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    await peerRegistered(relay, id, name)
    return id
  }

  beforeAll(async () => {
    rig = await startWebRig(['library/sample.mp4'], { netns: true })
    relay = { relay: rig.relay } as unknown as TestRelay
    alice = await startChatBridge(relay, 'Alice', {
      chatTap: (direction, _peer, frame) => {
        if (flipNextMessage && direction === 'out' && frame[0] === 2 && (frame[1]! & 1) === 1) {
          flipNextMessage = false
          frame[frame.byteLength - 1]! ^= 0x01 // the tap sees the frame before it is written: on the wire, changed
        }
        frames.push(frame.slice())
      }
    })
    await nameRegistered(relay, alice, 'Alice')
    toAlice = await alice.ipc()
    await toAlice.request({ command: 'status', action: 'subscribe', data: null })
    browser = await rig.newBrowser()
    tab = await openNamedTab(browser, tabName)
  }, 120_000)

  /** The app in a fresh context of `b`, its display name set beforehand. */
  async function openNamedTab (b: Browser, name: string): Promise<Page> {
    return await openApp(b, `${rig.relay.httpUrl()}/`, {
      beforeLoad: async context => {
        await context.addInitScript((n) => {
          if (!location.protocol.startsWith('http')) return
          localStorage.setItem('pipbingo:p0:settings', JSON.stringify({ displayName: n }))
          localStorage.setItem('pipbingo:chat-frames', 'on') // the page keeps the frames as they crossed the wire
        }, name)
      }
    })
  }

  afterAll(async () => {
    toAlice?.close()
    await alice?.close()
    await rig?.close()
  })

  it('the tab finds "Alice" by name, negotiates keys and sends her a sealed message she gets through the IPC', async () => {
    await tabRegistered(tab)
    const sent = await tab.evaluate(async () => await window.pipbingo.chat.send('Alice', 'Hello from a tab'))
    expect(sent).toMatchObject({ direction: 'out', state: 'delivered', encrypted: true, peer: alice.bridge.node.peerId.toString() })
    expect(await toAlice.event(e => e.event === 'p2p_message_received'))
      .toMatchObject({ data: { peer: tabName, message: 'Hello from a tab' }, meta: { encrypted: true } })
    // the same session on both sides: the fingerprints match
    const contacts = await tab.evaluate(() => window.pipbingo.chat.contacts())
    const fromTab = contacts.find(c => c.peerId === alice.bridge.node.peerId.toString())
    expect(fromTab?.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    const tabId = await tab.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    const fromBridge = (await toAlice.request({ command: 'contacts', action: 'list', data: null })).data as Array<{ peer_id: string | null, fingerprint: string | null }>
    expect(fromBridge.find(c => c.peer_id === tabId)?.fingerprint).toBe(fromTab?.fingerprint)
  })

  it('Alice answers by name through send_message; the tab receives it sealed, and both messages survive a reload', async () => {
    const answer = await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: 'Hello, tab' } })
    expect(answer)
      .toMatchObject({ success: true, data: 'Message sent' })
    await tab.waitForFunction(async () => (await window.pipbingo.chat.history()).some(m => m.direction === 'in' && m.text === 'Hello, tab'), undefined, { timeout: 10_000, polling: 100 })
    const history = await tab.evaluate(async () => await window.pipbingo.chat.history())
    expect(history.map(m => [m.direction, m.text, m.state, m.encrypted])).toEqual([
      ['out', 'Hello from a tab', 'delivered', true],
      ['in', 'Hello, tab', 'received', true]
    ])
    await tab.reload()
    await tab.evaluate(async () => { await window.pipbingo.ready })
    expect((await tab.evaluate(async () => await window.pipbingo.chat.history())).map(m => m.text)).toEqual(['Hello from a tab', 'Hello, tab'])
    // what crossed the wire: the key exchange in clear, every message sealed
    const plain = ['Hello from a tab', 'Hello, tab'].map(t => Buffer.from(t))
    expect(frames.length).toBeGreaterThanOrEqual(8)
    for (const f of frames) for (const p of plain) expect(Buffer.from(f).includes(p)).toBe(false)
  })

  it('the Chat page: the conversation with its lock and fingerprint, a message from the composer, an unread count in the menu', async () => {
    const fingerprint = (await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.name === 'Alice')?.fingerprint
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/)
    await tab.getByRole('link', { name: /^Chat/ }).click()
    await tab.locator('.list a', { hasText: 'Alice' }).click()
    const lock = await tab.locator('.lock').textContent()
    expect(lock?.replaceAll(' ', '')).toContain(`encrypted·key${fingerprint!}`)
    expect(await tab.locator('.messages li').allTextContents()).toHaveLength(2)
    await tab.getByLabel('Message', { exact: true }).fill('Typed in the page')
    await tab.getByRole('button', { name: 'Send', exact: true }).click()
    expect(await toAlice.event(e => e.event === 'p2p_message_received' && e.data?.message === 'Typed in the page'))
      .toMatchObject({ data: { peer: tabName }, meta: { encrypted: true } })
    await tab.locator('.messages li.out', { hasText: 'Typed in the page' }).locator('.meta', { hasText: 'delivered' }).waitFor({ timeout: 10_000 })
    // a file needs a direct connection: to Alice (relayed only here: her WebRTC sockets are bound to
    // 127.0.0.1, out of the tab's namespace, so the direct attempt fails first) it is refused, and the bubble says why
    await tab.locator('input[type=file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not over a relay') })
    const refused = tab.locator('.messages li.out.failed', { hasText: 'notes.txt' })
    await refused.waitFor({ timeout: 30_000 })
    expect(await refused.textContent()).toMatch(/Only a relayed connection to the peer exists.*files need a direct connection/)
    // Retry sends the file again (this page still has it), not an empty message: refused again, for the same reason
    // (the bubble's Retry button, through the page's API to await its end)
    await refused.getByRole('button', { name: 'Retry' }).waitFor()
    const before = await tab.evaluate(async () => await window.pipbingo.chat.history())
    const failedFile = before.find(m => m.file?.name === 'notes.txt')!
    const again = await tab.evaluate(async (seq) => await window.pipbingo.chat.retry(seq), failedFile.seq!)
    expect(again).toMatchObject({ seq: failedFile.seq, state: 'failed', text: '', file: { name: 'notes.txt' } })
    expect(again.error).toMatch(/Only a relayed connection to the peer exists.*files need a direct connection/)
    expect((await tab.evaluate(async () => await window.pipbingo.chat.history())).filter(m => m.direction === 'out')).toHaveLength(before.filter(m => m.direction === 'out').length)
    // elsewhere in the app, a new message shows in the menu until it is read
    await tab.getByRole('link', { name: 'Browse' }).click()
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: 'Are you there?' } })).toMatchObject({ success: true })
    await tab.locator('nav .unread').waitFor({ timeout: 10_000 })
    expect(await tab.locator('nav .unread').textContent()).toBe('1')
    await tab.getByRole('link', { name: /^Chat/ }).click()
    await tab.locator('.list a', { hasText: 'Alice' }).click()
    await tab.locator('.messages li.in', { hasText: 'Are you there?' }).waitFor()
    await tab.locator('nav .unread').waitFor({ state: 'detached', timeout: 5_000 })
  }, 90_000)

  it('a sealed frame with a flipped byte is refused: said in the conversation, never shown as a message', async () => {
    flipNextMessage = true
    const answer = await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: 'changed on the way' } })
    expect(answer).toMatchObject({ success: false })
    expect(flipNextMessage).toBe(false)
    await tab.waitForFunction(async () => (await window.pipbingo.chat.history()).some(m => m.notice === true && /could not be opened/.test(m.error ?? '')), undefined, { timeout: 10_000, polling: 100 })
    const history = await tab.evaluate(async () => await window.pipbingo.chat.history())
    expect(history.some(m => m.text === 'changed on the way')).toBe(false)
    await tab.locator('.messages li.notice-line', { hasText: 'could not be opened' }).waitFor({ timeout: 5_000 })
    // the next message, untouched, is taken
    expect(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: 'this one is intact' } })).toMatchObject({ success: true })
  })

  it('a peer that floods is rate-limited: past the burst its messages are refused, and the tab says so once', async () => {
    // one message after the other, each awaiting its ACK: faster than the limit's 5 a second as long as a
    // round trip takes less than 200 ms, so the burst of 30 runs out after 30 / (1 − 5 × round trip)
    // messages (60 at 100 ms, on a loaded machine); then 10 more, refused or not
    const results = []
    for (let i = 0; i < 400 && results.filter(r => r.success === false).length === 0; i++) {
      results.push(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: `flood ${i}` } }))
    }
    for (let i = 0; i < 10; i++) results.push(await toAlice.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: `flood more ${i}` } }))
    const refused = results.filter(r => r.success === false)
    expect(refused.length).toBeGreaterThan(0)
    expect(String(refused[0]!.error)).toContain('slow down')
    // every message the tab acknowledged is in its history (written just after its ACK went out), no refused one
    await expect.poll(async () => (await tab.evaluate(async () => await window.pipbingo.chat.history())).filter(m => m.text.startsWith('flood ')).length, { timeout: 10_000, interval: 100 })
      .toBe(results.length - refused.length)
    const history = await tab.evaluate(async () => await window.pipbingo.chat.history())
    expect(history.filter(m => m.notice === true && /too much too fast/.test(m.error ?? ''))).toHaveLength(1)
  }, 120_000)

  it('a bridge that never talked to the tab reaches it by name alone', async () => {
    const bob = await startChatBridge(relay, 'Bob')
    try {
      const toBob = await bob.ipc()
      try {
        expect(await toBob.request({ command: 'p2p', action: 'send_message', data: { peer: tabName, message: 'Bob here' } }))
          .toMatchObject({ success: true })
        await tab.waitForFunction(async () => (await window.pipbingo.chat.history()).some(m => m.text === 'Bob here'), undefined, { timeout: 10_000, polling: 100 })
        // Bob never negotiated: the tab shows it as not encrypted, as it is
        const got = (await tab.evaluate(async () => await window.pipbingo.chat.history())).find(m => m.text === 'Bob here')
        expect(got).toMatchObject({ direction: 'in', encrypted: false, peer: bob.bridge.node.peerId.toString() })
      } finally {
        toBob.close()
      }
    } finally {
      await bob.close()
    }
  })

  it('two tabs in two browser processes: "Chat with viewers" from the player, keys negotiated, sealed both ways', async () => {
    // Tabby watches the sample, so the tracker lists it among the video's holders
    const sample = rig.relay.library.byFilename('sample.mp4')!.contentId
    const tabbyId = await tab.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    await tab.evaluate(async () => { await window.pipbingo.play('sample.mp4') })
    await expect.poll(async () => (await rig.relay.node.services.tracker.providers(sample)).some(h => h.peer === tabbyId), { timeout: 30_000, interval: 100 }).toBe(true)

    other = await openNamedTab(await rig.newBrowser(), 'Tabitha')
    await tabRegistered(other, 'Tabitha')
    await other.evaluate(async () => { await window.pipbingo.play('sample.mp4') })
    await other.getByText('Chat with viewers').click()
    await other.locator(`a[href="/chat/${tabbyId}"]`).click()
    await other.getByLabel('Message', { exact: true }).fill('Hi Tabby, from another browser')
    await other.getByRole('button', { name: 'Send', exact: true }).click()
    await other.locator('.messages li.out', { hasText: 'Hi Tabby' }).locator('.meta', { hasText: 'delivered' }).waitFor({ timeout: 20_000 })
    await tab.waitForFunction(async () => (await window.pipbingo.chat.history()).some(m => m.text === 'Hi Tabby, from another browser' && m.encrypted), undefined, { timeout: 10_000, polling: 100 })

    // a file, from the page's file picker, over their direct connection: checked, kept, saved through a download
    const bytes = randomBytes(1536 * 1024)
    const sha = createHash('sha256').update(bytes).digest('hex')
    await other.locator('input[type=file]').setInputFiles({ name: '../../holiday notes.bin', mimeType: 'application/octet-stream', buffer: bytes })
    await other.locator('.messages li.out', { hasText: 'holiday notes.bin' }).locator('.meta', { hasText: 'SHA-256 checked' }).waitFor({ timeout: 30_000 })
    await tab.waitForFunction(async () => (await window.pipbingo.chat.history()).some(m => m.file?.sha256 != null && m.state === 'received'), undefined, { timeout: 10_000, polling: 100 })
    const received = (await tab.evaluate(async () => await window.pipbingo.chat.history())).find(m => m.file != null && m.direction === 'in')
    expect(received).toMatchObject({ direction: 'in', state: 'received', encrypted: true, file: { name: 'holiday notes.bin', size: bytes.byteLength, sha256: sha } })
    await tab.getByRole('link', { name: /^Chat/ }).click()
    await tab.locator('.list a', { hasText: 'Tabitha' }).click()
    const [download] = await Promise.all([tab.waitForEvent('download'), tab.locator('.messages li.in', { hasText: 'holiday notes.bin' }).getByRole('button', { name: 'Save' }).click()])
    expect(download.suggestedFilename()).toBe('holiday notes.bin')
    expect(createHash('sha256').update(await readFile((await download.path())!)).digest('hex')).toBe(sha)

    const back = await tab.evaluate(async () => await window.pipbingo.chat.send('Tabitha', 'Hi Tabitha'))
    expect(back).toMatchObject({ state: 'delivered', encrypted: true })

    // what crossed the wire between the two tabs, as each page saw it: no message's text, no piece of the file
    const tabitha = await other.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    const wire = [...await tab.evaluate(() => window.pipbingo.chat.frames()), ...await other.evaluate(() => window.pipbingo.chat.frames())]
      .filter(f => f.peer === tabitha || f.peer === tabbyId).map(f => Buffer.from(f.frame, 'base64'))
    expect(wire.reduce((n, f) => n + f.byteLength, 0)).toBeGreaterThan(bytes.byteLength)
    const secrets = [Buffer.from('Hi Tabby, from another browser'), Buffer.from('Hi Tabitha'), bytes.subarray(4096, 4096 + 64), bytes.subarray(-64)]
    for (const f of wire) for (const secret of secrets) expect(f.includes(secret)).toBe(false)

    // a file over the cap is refused before anything is sent, with the reason
    const tooBig = await other.evaluate(async () => {
      const mib = new Uint8Array(1024 * 1024)
      const file = new File(Array.from({ length: 257 }, () => mib), 'too-big.bin')
      return await window.pipbingo.chat.sendFile('Tabby', file).then(() => 'sent', (err: Error) => err.message)
    })
    expect(tooBig).toMatch(/too-big\.bin is 269484032 bytes: a tab sends files of at most 256 MiB/)
    const fingerprintOf = async (page: Page, name: string): Promise<string | null | undefined> => (await page.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.name === name)?.fingerprint
    expect(await fingerprintOf(tab, 'Tabitha')).toMatch(/^[0-9a-f]{16}$/)
    expect(await fingerprintOf(other, 'Tabby')).toBe(await fingerprintOf(tab, 'Tabitha'))
  })

  it('a file cut by a reload of the receiving tab: it went to IndexedDB piece by piece, no piece is left, both sides say it failed', async () => {
    const piecesStored = async (): Promise<number> => await storedIn(tab, 'pieces')
    const sending = other.evaluate(async () => {
      const parts: Uint8Array[] = []
      for (let i = 0; i < 64; i++) {
        const mib = new Uint8Array(1024 * 1024)
        for (let o = 0; o < mib.byteLength; o += 65536) crypto.getRandomValues(mib.subarray(o, o + 65536))
        parts.push(mib)
      }
      return await window.pipbingo.chat.sendFile('Tabby', new File(parts as BlobPart[], 'long film.bin'))
    })
    // while it arrives, what came is in IndexedDB already, not held by the page
    await expect.poll(piecesStored, { timeout: 30_000, interval: 50 }).toBeGreaterThan(0)
    await tab.reload()
    await tab.evaluate(async () => { await window.pipbingo.ready })
    const cut = (await tab.evaluate(async () => await window.pipbingo.chat.history())).find(m => m.file?.name === 'long film.bin')
    expect(cut).toMatchObject({ direction: 'in', state: 'failed', error: 'Interrupted: the page closed before it finished' })
    expect(await piecesStored()).toBe(0)
    // the sender's side: the peer went away mid-transfer, said on the record
    expect(await sending).toMatchObject({ state: 'failed', file: { name: 'long film.bin' } })
    await other.context().close()
  }, 90_000)

  it('a contact whose key changed is flagged, the tab refuses to negotiate with the new key, until the person trusts it', async () => {
    // Alice again, same peer id, a new KEM key: what an impostor holding her libp2p key would show
    toAlice.close()
    const aliceId = alice.bridge.node.peerId.toString()
    await alice.close({ keep: true })
    await rm(join(alice.dir, 'data', 'kem.key'))
    alice = await startChatBridge(relay, 'Alice', { dir: alice.dir })
    expect(alice.bridge.node.peerId.toString()).toBe(aliceId)
    toAlice = await alice.ipc()
    await toAlice.request({ command: 'status', action: 'subscribe', data: null })
    await nameRegistered(relay, alice, 'Alice')
    // her HELLO announces the new key as soon as she and the tab meet again
    const refused = await tab.evaluate(async () => await window.pipbingo.chat.negotiate('Alice').then(() => 'negotiated', (err: Error) => err.message))
    expect(refused).toMatch(/not the one pinned/)
    const flagged = (await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.peerId === aliceId)
    expect(flagged?.keyChanged).toBe(true)
    // and the page says so, in the list and in the conversation
    await tab.getByRole('link', { name: /^Chat/ }).click()
    await tab.locator('.list a', { hasText: 'Alice' }).locator('.badge.bad').waitFor({ timeout: 5_000 })
    await tab.locator('.list a', { hasText: 'Alice' }).click()
    expect(await tab.getByRole('alert').first().textContent()).toContain('key has changed')

    // told by Alice another way that her key changed, the person trusts it, in two steps: the new key
    // is pinned, keys are negotiated with it, and both sides show one fingerprint
    await tab.getByRole('button', { name: 'Trust the new key…' }).click()
    await tab.getByRole('button', { name: 'Trust it', exact: true }).click()
    await tab.getByRole('alert').filter({ hasText: 'key has changed' }).waitFor({ state: 'detached', timeout: 5_000 })
    await tab.locator('.messages li.notice-line', { hasText: 'You trusted Alice\'s new key' }).waitFor({ timeout: 5_000 })
    await tab.getByLabel('Message', { exact: true }).fill('Is this your new key?')
    await tab.getByRole('button', { name: 'Send', exact: true }).click()
    expect(await toAlice.event(e => e.event === 'p2p_message_received' && e.data?.message === 'Is this your new key?'))
      .toMatchObject({ data: { peer: tabName }, meta: { encrypted: true } })
    const trusted = (await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.peerId === aliceId)
    expect(trusted).toMatchObject({ keyChanged: false, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) })
    const tabId = await tab.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    const fromBridge = (await toAlice.request({ command: 'contacts', action: 'list', data: null })).data as Array<{ peer_id: string | null, fingerprint: string | null }>
    expect(fromBridge.find(c => c.peer_id === tabId)?.fingerprint).toBe(trusted?.fingerprint)
    await expect.poll(async () => (await tab.locator('.lock').textContent())?.replaceAll(' ', ''), { timeout: 5_000 }).toContain(trusted!.fingerprint!)
  })

  it('deleting a conversation removes its messages and received files from this browser, and keeps the contact\'s key', async () => {
    const tabitha = (await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.name === 'Tabitha')!
    const history = async (): Promise<unknown[]> => await tab.evaluate(async (id) => await window.pipbingo.chat.history(id), tabitha.peerId)
    expect((await history()).length).toBeGreaterThan(0)
    expect(await storedIn(tab, 'files')).toBe(1) // holiday notes.bin
    await tab.getByRole('link', { name: /^Chat/ }).click()
    await tab.locator('.list a', { hasText: 'Tabitha' }).click()
    await tab.getByRole('button', { name: 'Delete conversation…' }).click()
    const confirm = tab.getByRole('group', { name: 'Delete the conversation' })
    expect(await confirm.textContent()).toMatch(/Delete \d+ messages and 1\.\d MB of files received with Tabitha from this browser\?/)
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click()
    await tab.waitForURL(/\/chat$/)
    await tab.locator('.list a', { hasText: 'Tabitha' }).waitFor({ state: 'detached', timeout: 5_000 })
    expect(await history()).toEqual([])
    expect(await storedIn(tab, 'files')).toBe(0)
    // the contact stays: its key pinned, the session kept
    expect((await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.peerId === tabitha.peerId))
      .toMatchObject({ publicKey: tabitha.publicKey, fingerprint: tabitha.fingerprint })
    await tab.reload()
    await tab.evaluate(async () => { await window.pipbingo.ready })
    expect(await history()).toEqual([])
  })
})
