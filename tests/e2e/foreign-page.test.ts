import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startBridge, type TestBridge } from '../helpers/bridge'
import { launchChromium } from '../helpers/chromium'
import { makeContent } from '../helpers/content'
import { startRelay, type TestRelay } from '../helpers/relay'

const NAME = 'video_foreign.mp4'

/**
 * Issue 14's web-page rows with a real Chromium: a page served from another
 * localhost port (any program on this machine can serve one) aims at the
 * bridge's REST API, its IPC port with a no-cors POST whose request line is
 * longer than 64 bytes, and its IPC WebSocket. Before, each of these
 * started downloads, planted contacts or sent files; now none gets through.
 */
describe('a page on another localhost port cannot drive the bridge', () => {
  let relay: TestRelay
  let bridge: TestBridge
  let site: Server
  let siteUrl: string
  let browser: Browser

  beforeAll(async () => {
    const content = await makeContent(300_000, { seed: 77, name: NAME })
    relay = await startRelay([{ name: NAME, bytes: content.bytes }])
    bridge = await startBridge(relay)
    site = createServer((_req, res) => { res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>a page</p>') })
    await new Promise<void>(resolve => site.listen(0, '127.0.0.1', resolve))
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`
    browser = await launchChromium()
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await new Promise<void>(resolve => site?.close(() => { resolve() }))
    await bridge?.close()
    await relay?.close()
  })

  async function foreignPage (): Promise<{ page: Page, errors: string[] }> {
    const page = await (await browser.newContext()).newPage()
    const errors: string[] = []
    page.on('pageerror', err => { errors.push(err.message) })
    await page.goto(siteUrl)
    return { page, errors }
  }

  it('REST: its requests reach nothing — a cors POST, a no-cors POST, a read of /status and of /token all fail; no download starts', async () => {
    const { page, errors } = await foreignPage()
    const outcome = await page.evaluate(async ({ api, name }) => {
      const attempt = async (f: () => Promise<Response>): Promise<string> => {
        try { return `status ${(await f()).status}` } catch (err) { return `failed: ${(err as Error).name}` }
      }
      return {
        cors: await attempt(async () => await fetch(`${api}/download`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filename: name }) })),
        noCors: await attempt(async () => await fetch(`${api}/download`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ filename: name }) })),
        status: await attempt(async () => await fetch(`${api}/status`)),
        token: await attempt(async () => await fetch(`${api}/token`))
      }
    }, { api: bridge.url, name: NAME })
    // a no-cors answer is opaque (status 0) whatever it was; the bridge refused it with 403 before any handler
    expect(outcome).toEqual({ cors: 'failed: TypeError', noCors: 'status 0', status: 'failed: TypeError', token: 'failed: TypeError' })
    expect(bridge.bridge.manager.status()).toEqual({})
    expect(errors).toEqual([])
  })

  it('IPC port: a no-cors POST with a long request line and IPC lines in its body runs none of them', async () => {
    const ipc = bridge.bridge.ipcAddress()
    const contactsBefore = await bridge.bridge.chat.contacts()
    const { page } = await foreignPage()
    const body = [
      JSON.stringify({ command: 'contacts', action: 'add', data: { peer: 'Planted', public_key: 'AAAA' } }),
      JSON.stringify({ command: 'p2p', action: 'send_file', data: { peer: 'Attacker', file_path: '/etc/hostname' } })
    ].join('\n') + '\n'
    const outcome = await page.evaluate(async ({ url, body }) => {
      try {
        await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body })
        return 'answered'
      } catch (err) {
        return `failed: ${(err as Error).name}`
      }
    }, { url: `http://127.0.0.1:${ipc.port}/${'a'.repeat(120)}?padding=${'b'.repeat(60)}`, body })
    // the IPC closes the connection unanswered: the browser sees a network error
    expect(outcome).toBe('failed: TypeError')
    expect(await bridge.bridge.chat.contacts()).toEqual(contactsBefore)
    expect((await readdir(bridge.dir)).sort()).toEqual(['cache', 'data'])
  })

  it('IPC WebSocket: the page cannot connect, with or without a made-up token', async () => {
    const { page } = await foreignPage()
    const ws = `ws://127.0.0.1:${bridge.bridge.ipcAddress().wsPort}`
    const outcomes = await page.evaluate(async (urls) => await Promise.all(urls.map(async url => await new Promise<string>(resolve => {
      const socket = new WebSocket(url)
      socket.onopen = () => { socket.close(); resolve('open') }
      socket.onerror = () => { resolve('refused') }
    }))), [ws, `${ws}/?token=${'0'.repeat(64)}`])
    expect(outcomes).toEqual(['refused', 'refused'])
  })
})
