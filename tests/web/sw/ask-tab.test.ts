import { describe, expect, it } from 'vitest'
import { SW_TAG, type SwReply, type SwRequest } from '../../../web/peer/sw-protocol'
import { askTab, type TabClient, type TabClients } from '../../../web/sw/ask-tab'

/**
 * askTab with fake clients over real MessageChannels (Node has them): who
 * is asked, in which order, and how each way of not answering ends.
 */
const request: SwRequest = { tag: SW_TAG, type: 'chunk', profile: 'p0', contentId: 'ab'.repeat(32), index: 3 }

type Behaviour = SwReply | 'silent' | { raw: unknown } | { delayMs: number, reply: SwReply }

interface Fake extends TabClient {
  received: unknown[]
  /** Ports still open on the tab's side (a reply never sent). */
  open: MessagePort[]
}

function client (id: string, type: string, behaviour: Behaviour): Fake {
  const fake: Fake = {
    id,
    type,
    received: [],
    open: [],
    postMessage (message, transfer) {
      fake.received.push(message)
      const port = transfer[0] as MessagePort
      if (behaviour === 'silent') {
        fake.open.push(port)
        return
      }
      if ('raw' in behaviour) port.postMessage(behaviour.raw)
      else if ('delayMs' in behaviour) setTimeout(() => { port.postMessage(behaviour.reply); port.close() }, behaviour.delayMs)
      else port.postMessage(behaviour)
    }
  }
  return fake
}

function clients (list: Fake[]): TabClients & { matched: number } {
  const all = {
    matched: 0,
    async get (id: string) { return list.find(c => c.id === id) },
    async matchAll (options: { type: 'window', includeUncontrolled: boolean }) {
      all.matched++
      expect(options).toEqual({ type: 'window', includeUncontrolled: true })
      return list.filter(c => c.type === 'window')
    }
  }
  return all
}

const ok: SwReply = { ok: true }
const notMine: SwReply = { ok: false, status: 421, error: 'this tab holds p1' }

async function failure (promise: Promise<unknown>): Promise<{ name: string, message: string, status?: number }> {
  try {
    await promise
  } catch (err) {
    return err as { name: string, message: string, status?: number }
  }
  throw new Error('expected a failure')
}

describe('askTab', () => {
  it('asks the window that made the request, and only it when it answers ok', async () => {
    const own = client('a', 'window', ok)
    const other = client('b', 'window', ok)
    const all = clients([own, other])
    await askTab(request, { clients: all, clientId: 'a', timeoutMs: 1000 })
    expect(own.received).toEqual([request])
    expect(other.received).toEqual([])
    expect(all.matched).toBe(0)
  })

  it('its 421 → every other window is asked at once; the owner\'s ok wins', async () => {
    const own = client('a', 'window', notMine)
    const slowStranger = client('b', 'window', 'silent') // an old page of the origin: never answers
    const owner = client('c', 'window', { delayMs: 20, reply: ok })
    await askTab(request, { clients: clients([own, slowStranger, owner]), clientId: 'a', timeoutMs: 5000 })
    expect([own.received, slowStranger.received, owner.received]).toEqual([[request], [request], [request]])
  })

  it('a request made by a worker (not a window) or by no client → the windows are asked', async () => {
    const worker = client('w', 'worker', ok)
    const owner = client('c', 'window', ok)
    await askTab(request, { clients: clients([worker, owner]), clientId: 'w', timeoutMs: 1000 })
    await askTab(request, { clients: clients([worker, owner]), clientId: '', timeoutMs: 1000 })
    expect(worker.received).toEqual([])
    expect(owner.received).toEqual([request, request])
  })

  it('every window answers 421 → NoTabError (503) at once', async () => {
    const t0 = Date.now()
    const err = await failure(askTab(request, { clients: clients([client('a', 'window', notMine), client('b', 'window', notMine)]), clientId: 'a', timeoutMs: 5000 }))
    expect(err).toMatchObject({ name: 'NoTabError', status: 503, message: expect.stringContaining('no open tab holds profile p0') })
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('no window at all → NoTabError', async () => {
    expect(await failure(askTab(request, { clients: clients([]), clientId: '', timeoutMs: 1000 }))).toMatchObject({ name: 'NoTabError' })
  })

  it('the owner refuses → TabRefusedError with its status (from the requester or from a fallback)', async () => {
    const refused: SwReply = { ok: false, status: 404, error: 'no peer has it' }
    expect(await failure(askTab(request, { clients: clients([client('a', 'window', refused)]), clientId: 'a', timeoutMs: 1000 })))
      .toMatchObject({ name: 'TabRefusedError', status: 404, message: expect.stringContaining('no peer has it') })
    const silent = client('b', 'window', 'silent')
    const t0 = Date.now()
    expect(await failure(askTab(request, { clients: clients([client('a', 'window', notMine), silent, client('c', 'window', refused)]), clientId: 'a', timeoutMs: 5000 })))
      .toMatchObject({ name: 'TabRefusedError', status: 404 })
    expect(Date.now() - t0).toBeLessThan(1000) // the owner's answer ends it: no wait for the silent one
    expect(silent.open).toHaveLength(1)
  })

  it('a status that is not an HTTP error becomes 502', async () => {
    expect(await failure(askTab(request, { clients: clients([client('a', 'window', { ok: false, status: 200, error: '?' })]), clientId: 'a', timeoutMs: 1000 })))
      .toMatchObject({ name: 'TabRefusedError', status: 502 })
  })

  it('a reply that is not an SwReply counts as "not the owner"', async () => {
    const owner = client('b', 'window', ok)
    await askTab(request, { clients: clients([client('a', 'window', { raw: { hello: 1 } }), owner]), clientId: 'a', timeoutMs: 1000 })
    expect(owner.received).toEqual([request])
  })

  it('nobody answers → TabTimeoutError (504) after timeoutMs, naming what was asked', async () => {
    const t0 = Date.now()
    const err = await failure(askTab(request, { clients: clients([client('a', 'window', 'silent')]), clientId: 'a', timeoutMs: 150 }))
    expect(err).toMatchObject({ name: 'TabTimeoutError', status: 504, message: 'chunk 3 of abababababab… (p0): the tab did not answer within 150 ms' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('the timeout covers the fallback too', async () => {
    const err = await failure(askTab(request, { clients: clients([client('a', 'window', notMine), client('b', 'window', 'silent')]), clientId: 'a', timeoutMs: 150 }))
    expect(err).toMatchObject({ name: 'TabTimeoutError' })
  })

  it('the caller\'s abort → its reason, not a timeout', async () => {
    const controller = new AbortController()
    const pending = askTab(request, { clients: clients([client('a', 'window', 'silent')]), clientId: 'a', timeoutMs: 5000, signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('cancelled by the video element')) }, 20)
    expect(await failure(pending)).toMatchObject({ message: 'cancelled by the video element' })
  })

  it('a manifest request names the manifest in its errors', async () => {
    const manifest: SwRequest = { tag: SW_TAG, type: 'manifest', profile: 'p2', contentId: 'cd'.repeat(32) }
    expect(await failure(askTab(manifest, { clients: clients([]), clientId: '', timeoutMs: 1000 })))
      .toMatchObject({ message: 'the manifest of cdcdcdcdcdcd… (p2): no open tab holds profile p2' })
  })
})
