import { readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { FsChunkStore } from '../../../node-bridge/store/index'
import { decodeState } from '../../../node-bridge/store/state-file'
import { expectBytes, makeContent, type Content } from '../../core/store/compliance'
import { deferred, KIB16, useStoreFolder } from './helpers'

/**
 * The store's file operations, passed through but recorded in order, so a
 * test can check the durability model: no state file ever claims a chunk
 * whose write() had not returned, every putChunk resolves only once a state
 * file in place claims its chunk (or the file is complete), and the data is
 * flushed before `.part` takes its final name. `holds` pauses an operation
 * ('data:<position>' before the write, 'state' before a state file is
 * written) to force an interleaving; `when` resolves once a matching
 * operation is recorded. Tests record 'resolved' themselves (see `put`).
 */
type IoEvent =
  | { op: 'data', position: number } // a chunk's write() returned
  | { op: 'state', claims: number[] } // a state file is about to be written
  | { op: 'saved', claims: number[] } // ... and has replaced the old one
  | { op: 'sync' } // the data of .part is being flushed
  | { op: 'rename' } // .part took its final name
  | { op: 'resolved', index: number } // putChunk of that chunk resolved
const io = vi.hoisted(() => {
  const log: IoEvent[] = []
  const waiters: Array<{ match(e: IoEvent): boolean, resolve(): void }> = []
  return {
    log,
    holds: new Map<string, Promise<void>>(),
    record (event: IoEvent): void {
      log.push(event)
      for (const w of waiters.filter(w => w.match(event))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve()
      }
    },
    async when (match: (e: IoEvent) => boolean): Promise<void> {
      await new Promise<void>(resolve => waiters.push({ match, resolve }))
    }
  }
})
vi.mock('../../../node-bridge/store/file-io', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../node-bridge/store/file-io')>()
  return {
    ...real,
    writeAt: async (handle: FileHandle, data: Uint8Array, position: number) => {
      await io.holds.get(`data:${position}`)
      await real.writeAt(handle, data, position)
      io.record({ op: 'data', position })
    },
    syncData: async (handle: FileHandle) => {
      io.record({ op: 'sync' }) // a flush covers what was written before it began
      await real.syncData(handle)
    },
    syncFile: async (path: string) => {
      io.record({ op: 'sync' })
      await real.syncFile(path)
    },
    renameFile: async (from: string, to: string) => {
      await real.renameFile(from, to)
      if (from.endsWith('.part')) io.record({ op: 'rename' })
    },
    writeFileAtomic: async (path: string, data: Uint8Array | string, options?: { flush?: boolean }) => {
      if (!path.endsWith('.bitfield')) return await real.writeFileAtomic(path, data, options)
      const claims = [...decodeState(data as Uint8Array).have.indices()]
      io.record({ op: 'state', claims })
      await io.holds.get('state')
      await real.writeFileAtomic(path, data, options)
      io.record({ op: 'saved', claims })
    }
  }
})

/**
 * Walk recorded operations and check the durability model (see `io`);
 * returns the claims of the state files, in order.
 */
function checkDurability (log: IoEvent[], chunkSize: number): number[][] {
  const written = new Set<number>()
  let flushed = new Set<number>()
  let saved = new Set<number>()
  let complete = false
  const claims: number[][] = []
  for (const event of log) {
    if (event.op === 'data') written.add(event.position / chunkSize)
    if (event.op === 'state') {
      for (const index of event.claims) expect(written.has(index), `chunk ${index} claimed before its write() returned`).toBe(true)
      claims.push(event.claims)
    }
    if (event.op === 'saved') saved = new Set(event.claims)
    if (event.op === 'sync') flushed = new Set(written)
    if (event.op === 'rename') {
      expect([...written].filter(i => !flushed.has(i)), 'chunks not flushed before the rename').toEqual([])
      complete = true
    }
    if (event.op === 'resolved') expect(complete || saved.has(event.index), `putChunk ${event.index} resolved before a saved state claimed it`).toBe(true)
  }
  return claims
}

describe('PartialWrites (through FsChunkStore)', () => {
  const folder = useStoreFolder()
  let a: Content
  beforeEach(async () => {
    a = await makeContent({ chunks: 3.5, seed: 11, name: 'movie.mp4' })
  })

  describe('durability: state files claim only written chunks, putChunk waits for a saved claim', () => {
    let store: FsChunkStore
    beforeEach(async () => {
      store = await folder.open()
      await store.putManifest(a.manifest)
      io.log.length = 0
      io.holds.clear()
    })
    /** putChunk, recording when it resolved. */
    const put = async (i: number): Promise<void> => {
      await store.putChunk(a.contentId, i, a.chunk(i))
      io.record({ op: 'resolved', index: i })
    }

    it('one chunk after another, and several at once', async () => {
      await put(2)
      await Promise.all([0, 1].map(put))
      const claims = checkDurability(io.log, KIB16)
      expect(claims[0]).toEqual([2])
      expect(claims.at(-1)).toEqual([0, 1, 2])
      expect(io.log.filter(e => e.op === 'resolved')).toHaveLength(3)
    })

    it('a chunk still being written is not claimed by another chunk\'s state', async () => {
      const gate = deferred()
      io.holds.set(`data:${KIB16}`, gate.promise)
      const slow = put(1)
      await put(0)
      gate.resolve()
      await slow
      expect(checkDurability(io.log, KIB16)).toEqual([[0], [0, 1]])
    })

    it('a chunk written while a state file is written waits for the next one', async () => {
      const gate = deferred()
      io.holds.set('state', gate.promise)
      const saving = io.when(e => e.op === 'state')
      const first = put(0)
      await saving
      const written = io.when(e => e.op === 'data' && e.position === KIB16)
      const second = put(1)
      await written
      io.holds.delete('state')
      gate.resolve()
      await Promise.all([first, second])
      expect(checkDurability(io.log, KIB16)).toEqual([[0], [0, 1]])
      expect(io.log.findIndex(e => e.op === 'resolved' && e.index === 1))
        .toBeGreaterThan(io.log.findIndex(e => e.op === 'saved' && e.claims.includes(1)))
    })

    it('chunks that arrive while a state file is written share the next one', async () => {
      const gate = deferred()
      io.holds.set('state', gate.promise)
      const saving = io.when(e => e.op === 'state')
      const first = put(0)
      await saving
      const written = Promise.all([KIB16, 2 * KIB16].map(async p => { await io.when(e => e.op === 'data' && e.position === p) }))
      const others = Promise.all([1, 2].map(put))
      await written
      io.holds.delete('state')
      gate.resolve()
      await Promise.all([first, others])
      expect(checkDurability(io.log, KIB16)).toEqual([[0], [0, 1, 2]])
    })

    it('the last chunk flushes the data, then renames .part, then resolves', async () => {
      for (const i of [3, 1, 0, 2]) await put(i)
      checkDurability(io.log, KIB16)
      const ops = io.log.map(e => e.op)
      expect(ops.slice(-4)).toEqual(['data', 'sync', 'rename', 'resolved'])
      expect(ops.filter(op => op === 'sync')).toHaveLength(1) // the only flush of the download
    })

    it('the check fails on a claim before its data, and on a resolve before its save', () => {
      expect(() => checkDurability([{ op: 'state', claims: [0] }, { op: 'data', position: 0 }], KIB16)).toThrow(/claimed before/)
      expect(() => checkDurability([
        { op: 'data', position: 0 }, { op: 'state', claims: [0] }, { op: 'resolved', index: 0 }, { op: 'saved', claims: [0] }
      ], KIB16)).toThrow(/resolved before/)
      expect(() => checkDurability([{ op: 'data', position: 0 }, { op: 'rename' }], KIB16)).toThrow(/not flushed/)
    })
  })

  describe('the bytes written are the bytes verified', () => {
    beforeEach(() => { io.holds.clear() })

    it('a caller changing its buffer while putChunk is under way does not change what is stored', async () => {
      const store = await folder.open()
      await store.putManifest(a.manifest)
      const gate = deferred()
      io.holds.set('data:0', gate.promise) // the write waits: the caller's change comes first
      const given = a.chunk(0)
      const put = store.putChunk(a.contentId, 0, given)
      given.fill(0)
      gate.resolve()
      await put
      expectBytes(await store.getChunk(a.contentId, 0), a.chunk(0))
      expectBytes(await readFile(join(folder.dir, 'movie.mp4.part')).then(b => b.subarray(0, KIB16)), a.chunk(0))
    })

    it('the store\'s own copy is not reused while its write is under way', async () => {
      const many = await makeContent({ chunks: 12, seed: 24, name: 'many.mp4' })
      const store = await folder.open()
      await store.putManifest(many.manifest)
      const gate = deferred()
      io.holds.set('data:0', gate.promise)
      const first = store.putChunk(many.contentId, 0, many.chunk(0)) // verified, then its write waits
      for (let i = 1; i < many.count; i++) await store.putChunk(many.contentId, i, many.chunk(i))
      gate.resolve()
      await first
      expect(store.isComplete(many.contentId)).toBe(true)
      expectBytes(await readFile(join(folder.dir, 'many.mp4')), many.bytes)
    })
  })
})
