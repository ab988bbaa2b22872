import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { nameKey } from '@core/routing/names'
import type { TestRelay } from '../helpers/relay'
import { openApp, startWebRig, type WebRig } from '../helpers/web'
import { describeWithNamespaces } from '../helpers/describe-netns'
import type { TestIpcClient } from '../node-bridge/ipc/client'
import { nameRegistered, startChatBridge, type ChatBridge } from '../node-bridge/ipc/helpers'

/** The tab in a namespace of its own, so nothing of it rides on this machine's own address. */
const describe = await describeWithNamespaces()

/**
 * Issue 15, first part: a tab is a chat peer like a bridge. Real relay,
 * real bridges (in this process), a real Chromium tab with its IndexedDB:
 * the tab and a bridge find each other by the names they register with
 * the relay, negotiate X-Wing keys, and talk both ways through the
 * bridge's IPC. The tab seals every message it sends.
 */
describe('chat between a browser tab and a bridge', () => {
  let rig: WebRig
  let browser: Browser
  let tab: Page
  let alice: ChatBridge
  let toAlice: TestIpcClient
  let relay: TestRelay

  const tabName = 'Tabby'

  async function tabRegistered (page: Page): Promise<string> {
    const id = await page.evaluate(() => (window.pipbingo.stats() as any).peerId as string)
    const key = await nameKey(tabName)
    const registry = rig.relay.registry
    if (!registry.holds(key, id)) {
      await new Promise<void>(resolve => {
        const off = registry.onChange(() => { if (registry.holds(key, id)) { off(); resolve() } })
      })
    }
    return id
  }

  beforeAll(async () => {
    rig = await startWebRig([], { netns: true })
    relay = { relay: rig.relay } as unknown as TestRelay
    alice = await startChatBridge(relay, 'Alice')
    await nameRegistered(relay, alice, 'Alice')
    toAlice = await alice.ipc()
    await toAlice.request({ command: 'status', action: 'subscribe', data: null })
    browser = await rig.newBrowser()
    tab = await openApp(browser, `${rig.relay.httpUrl()}/`, {
      beforeLoad: async context => {
        await context.addInitScript((name) => { if (location.protocol.startsWith('http')) localStorage.setItem('pipbingo:p0:settings', JSON.stringify({ displayName: name })) }, tabName)
      }
    })
  }, 120_000)

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
  })

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

  it('a contact whose key changed is flagged, and the tab refuses to negotiate with the new key', async () => {
    // Alice again, same peer id, a new KEM key: what an impostor holding her libp2p key would show
    toAlice.close()
    const aliceId = alice.bridge.node.peerId.toString()
    await alice.close({ keep: true })
    await rm(join(alice.dir, 'data', 'kem.key'))
    alice = await startChatBridge(relay, 'Alice', { dir: alice.dir })
    expect(alice.bridge.node.peerId.toString()).toBe(aliceId)
    toAlice = await alice.ipc()
    await nameRegistered(relay, alice, 'Alice')
    // her HELLO announces the new key as soon as she and the tab meet again
    const refused = await tab.evaluate(async () => await window.pipbingo.chat.negotiate('Alice').then(() => 'negotiated', (err: Error) => err.message))
    expect(refused).toMatch(/not the one pinned/)
    const flagged = (await tab.evaluate(() => window.pipbingo.chat.contacts())).find(c => c.peerId === aliceId)
    expect(flagged?.keyChanged).toBe(true)
  })
})
