import { beforeEach, describe, expect, it } from 'vitest'
import { MemoryChunkStore } from '@core/store/memory-store'
import type { AbortOptions } from '@core/util/abort'
import type { SwRequest } from '../../../web/peer/sw-protocol'
import { TabRefusedError, TabTimeoutError } from '../../../web/sw/errors'
import { errorResponse, streamResponse, type StreamDeps } from '../../../web/sw/stream-response'
import { chunkOf, makeContent, type TestContent } from '../../helpers/content'

/**
 * streamResponse in Node, over a MemoryChunkStore and a fake tab: the range
 * arithmetic, the asking, the pulling and the failures. The real service
 * worker in Chromium is tests/web/sw/sw.test.ts.
 */
const CS = 16 * 1024
const SIZE = 5 * CS + 123 // five full chunks and a short sixth

interface Harness {
  deps: StreamDeps
  store: MemoryChunkStore
  asked: SwRequest[]
  reads: number[]
  errors: string[]
  /** What the fake tab does when asked (default: store what was asked for). */
  onAsk: (request: SwRequest, options?: AbortOptions) => Promise<void>
}

let content: TestContent
const target = (): { profile: string, contentId: string } => ({ profile: 'p0', contentId: content.contentId })
const get = (range?: string, method = 'GET'): { method: string, headers: Headers } =>
  ({ method, headers: new Headers(range == null ? {} : { range }) })

async function harness (chunks: number[], options: { manifest?: boolean, maxResponseBytes?: number } = {}): Promise<Harness> {
  const store = new MemoryChunkStore()
  if (options.manifest !== false) await store.putManifest(content.manifest)
  for (const i of chunks) await store.putChunk(content.contentId, i, chunkOf(content, i))
  const h: Harness = {
    store,
    asked: [],
    reads: [],
    errors: [],
    onAsk: async request => {
      if (request.type === 'manifest') await store.putManifest(content.manifest)
      else await store.putChunk(request.contentId, request.index, chunkOf(content, request.index))
    },
    deps: undefined as unknown as StreamDeps
  }
  h.deps = {
    store: {
      getManifest: async id => await store.getManifest(id),
      getChunk: async (id, index) => {
        h.reads.push(index)
        return await store.getChunk(id, index)
      }
    },
    ask: async (request, o) => {
      h.asked.push(request)
      await h.onAsk(request, o)
    },
    log: { error: m => { h.errors.push(m) }, trace: () => {} },
    maxResponseBytes: options.maxResponseBytes
  }
  return h
}

async function bytes (res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer())
}

const all = [0, 1, 2, 3, 4, 5]

beforeEach(async () => {
  content ??= await makeContent(SIZE, { seed: 3, chunkSize: CS })
})

describe('streamResponse: ranges', () => {
  const table: Array<[string | undefined, number, number, number]> = [
    [undefined, 200, 0, SIZE - 1],
    ['bytes=0-1', 206, 0, 1],
    ['bytes=-1', 206, SIZE - 1, SIZE - 1],
    [`bytes=${SIZE - 1}-`, 206, SIZE - 1, SIZE - 1],
    [`bytes=${CS - 1}-${CS}`, 206, CS - 1, CS], // the last byte of one chunk and the first of the next
    [`bytes=${CS}-${2 * CS - 1}`, 206, CS, 2 * CS - 1], // exactly one chunk
    ['bytes=-200', 206, SIZE - 200, SIZE - 1], // a suffix across the last two chunks
    ['bytes=-99999999', 206, 0, SIZE - 1],
    [`bytes=10-${10 * SIZE}`, 206, 10, SIZE - 1],
    ['bytes=0-1,3-4', 200, 0, SIZE - 1]
  ]
  it.each(table)('%j → %i bytes %i-%i', async (range, status, start, end) => {
    const h = await harness(all)
    const res = await streamResponse(target(), get(range), h.deps)
    expect(res.status).toBe(status)
    expect(res.headers.get('content-length')).toBe(String(end - start + 1))
    expect(res.headers.get('content-type')).toBe('video/mp4')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('content-range')).toBe(status === 206 ? `bytes ${start}-${end}/${SIZE}` : null)
    expect(await bytes(res)).toEqual(content.bytes.subarray(start, end + 1))
    expect(h.reads).toEqual(all.slice(Math.floor(start / CS), Math.floor(end / CS) + 1))
    expect(h.asked).toEqual([])
  })

  it.each([`bytes=${SIZE}-`, `bytes=${SIZE}-${SIZE + 1}`, 'bytes=-0'])('%s → StreamRangeNotSatisfiableError, a 416 with bytes */size', async range => {
    const h = await harness(all)
    const err = await streamResponse(target(), get(range), h.deps).catch((e: unknown) => e)
    expect((err as Error).name).toBe('StreamRangeNotSatisfiableError')
    const res = errorResponse(err)
    expect(res.status).toBe(416)
    expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`)
    expect(await res.json()).toEqual({ error: expect.stringContaining(`(${SIZE} bytes)`) })
  })

  it('a 206 carries at most maxResponseBytes; a 200 is never cut', async () => {
    const h = await harness(all, { maxResponseBytes: 2 * CS })
    const cut = await streamResponse(target(), get('bytes=100-'), h.deps)
    expect(cut.headers.get('content-range')).toBe(`bytes 100-${100 + 2 * CS - 1}/${SIZE}`)
    expect(await bytes(cut)).toEqual(content.bytes.subarray(100, 100 + 2 * CS))
    const whole = await streamResponse(target(), get(), h.deps)
    expect(await bytes(whole)).toEqual(content.bytes)
  })

  it('HEAD answers the headers without reading a chunk', async () => {
    const h = await harness([])
    const res = await streamResponse(target(), get('bytes=0-9', 'HEAD'), h.deps)
    expect(res.status).toBe(206)
    expect(res.headers.get('content-length')).toBe('10')
    expect(res.body).toBeNull()
    expect(h.reads).toEqual([])
  })

  it('other methods → 405', async () => {
    const h = await harness(all)
    const err = await streamResponse(target(), get(undefined, 'POST'), h.deps).catch((e: unknown) => e)
    expect(errorResponse(err).status).toBe(405)
  })
})

describe('streamResponse: asking the tab', () => {
  it('no manifest: asks for it, then serves', async () => {
    const h = await harness([], { manifest: false })
    const res = await streamResponse(target(), get('bytes=0-1'), h.deps)
    expect(await bytes(res)).toEqual(content.bytes.subarray(0, 2))
    expect(h.asked.map(r => r.type)).toEqual(['manifest', 'chunk'])
  })

  it('the tab says ok but there is still no manifest → 404', async () => {
    const h = await harness([], { manifest: false })
    h.onAsk = async () => {}
    const err = await streamResponse(target(), get(), h.deps).catch((e: unknown) => e)
    expect((err as Error).name).toBe('UnknownStreamContentError')
    expect(errorResponse(err).status).toBe(404)
  })

  it('the tab refuses the manifest (404) → the status is the tab\'s, before any header', async () => {
    const h = await harness([], { manifest: false })
    h.onAsk = async () => { throw new TabRefusedError(404, 'nobody has it') }
    const err = await streamResponse(target(), get(), h.deps).catch((e: unknown) => e)
    expect(errorResponse(err).status).toBe(404)
  })

  it('the first chunk of the range out of reach → a status, not a broken stream', async () => {
    const h = await harness([0, 1, 3, 4, 5])
    h.onAsk = async () => { throw new TabTimeoutError('chunk 2: the tab did not answer within 5 ms') }
    const err = await streamResponse(target(), get(`bytes=${2 * CS + 7}-`), h.deps).catch((e: unknown) => e)
    expect(errorResponse(err).status).toBe(504)
    expect(h.asked).toEqual([{ tag: 'pipbingo/sw/1', type: 'chunk', profile: 'p0', contentId: content.contentId, index: 2 }])
  })

  it('a missing chunk after the first: asked for when the body reaches it, and the bytes are right', async () => {
    const h = await harness([0, 1, 3, 4, 5])
    const res = await streamResponse(target(), get(), h.deps)
    expect(h.asked).toEqual([])
    expect(await bytes(res)).toEqual(content.bytes)
    expect(h.asked.map(r => r.type === 'chunk' ? r.index : -1)).toEqual([2])
  })

  it('the tab fails a later chunk → the body errors with that failure, and it is logged', async () => {
    const h = await harness([0, 1, 3, 4, 5])
    h.onAsk = async () => { throw new TabTimeoutError('chunk 2: the tab did not answer within 5 ms') }
    const res = await streamResponse(target(), get(), h.deps)
    expect(res.status).toBe(200)
    await expect(res.arrayBuffer()).rejects.toThrow(/did not answer within 5 ms/)
    expect(h.errors).toEqual([expect.stringMatching(/the stream fails at chunk 2: chunk 2: the tab did not answer/)])
  })

  it('the tab says ok but the chunk is still not there → the body errors (ChunkStillMissingError)', async () => {
    const h = await harness([0])
    h.onAsk = async () => {}
    const res = await streamResponse(target(), get(), h.deps)
    const reader = res.body!.getReader()
    await reader.read()
    await expect(reader.read()).rejects.toMatchObject({ name: 'ChunkStillMissingError' })
  })

  it('a stored chunk of the wrong length → CorruptChunkError (500) rather than a body that lies about its length', async () => {
    const h = await harness([])
    h.deps.store.getChunk = async () => new Uint8Array(5)
    const err = await streamResponse(target(), get(), h.deps).catch((e: unknown) => e)
    expect((err as Error).name).toBe('CorruptChunkError')
    expect(errorResponse(err).status).toBe(500)
  })
})

describe('streamResponse: the body is pulled', () => {
  it('reads a chunk only as the consumer reads (one ahead at most)', async () => {
    const h = await harness(all)
    const res = await streamResponse(target(), get(), h.deps)
    expect(h.reads).toEqual([0])
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.value).toEqual(chunkOf(content, 0))
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(h.reads.length).toBeLessThanOrEqual(2)
    await reader.read()
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(h.reads.length).toBeLessThanOrEqual(3)
    await reader.cancel()
  })

  it('a cancel aborts the pending ask of the tab and reads nothing more', async () => {
    const h = await harness([0])
    let aborted: unknown
    let askedTab!: () => void
    const tabAsked = new Promise<void>(resolve => { askedTab = resolve })
    h.onAsk = async (_request, options) => {
      askedTab()
      await new Promise((_resolve, reject) => {
        options?.signal?.addEventListener('abort', () => { aborted = options.signal?.reason; reject(options.signal?.reason) })
      })
    }
    const res = await streamResponse(target(), get(), h.deps)
    const reader = res.body!.getReader()
    await reader.read() // chunk 0
    await tabAsked // the stream has asked the tab for chunk 1
    expect(h.asked.map(r => r.type === 'chunk' ? r.index : -1)).toEqual([1])
    await reader.cancel(new Error('the video element went away'))
    expect(aborted).toEqual(new Error('the video element went away'))
    const reads = h.reads.length
    await new Promise(resolve => setTimeout(resolve, 10))
    expect(h.reads.length).toBe(reads)
    expect(h.errors).toEqual([]) // a cancel is not a failure
  })

  it('keepAlive gets a promise that settles when the body ends, fails or is cancelled', async () => {
    const outcomes: string[] = []
    const watch = async (h: Harness, run: (res: Response) => Promise<unknown>): Promise<void> => {
      let done: Promise<void> | undefined
      h.deps.keepAlive = d => { done = d }
      const res = await streamResponse(target(), get(), h.deps)
      let settled = false
      void done!.then(() => { settled = true })
      await new Promise(resolve => setTimeout(resolve, 5))
      outcomes.push(`before:${settled}`)
      await run(res).catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 5))
      outcomes.push(`after:${settled}`)
    }
    await watch(await harness(all), async res => await res.arrayBuffer())
    const failing = await harness([0])
    failing.onAsk = async () => { throw new TabTimeoutError() }
    await watch(failing, async res => await res.arrayBuffer())
    await watch(await harness(all), async res => { await res.body!.cancel() })
    expect(outcomes).toEqual(['before:false', 'after:true', 'before:false', 'after:true', 'before:false', 'after:true'])
  })
})
