import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { numberedName, safeFileName } from '../../../node-bridge/chat/safe-name'
import { ReceiveFolder } from '../../../node-bridge/chat/receive-folder'
import { LineSplitter } from '../../../node-bridge/ipc/line-splitter'

describe('safeFileName', () => {
  it.each([
    ['video.mp4', 'video.mp4'],
    ['../../x', 'x'],
    ['..', 'file'],
    ['.', 'file'],
    ['', 'file'],
    ['/', 'file'],
    ['C:\\Users\\a\\evil.exe', 'evil.exe'],
    ['...hidden', 'hidden'],
    ['name.  ', 'name'],
    ['a:b*c?d|e<f>g"h', 'a_b_c_d_e_f_g_h'],
    ['tab\there', 'tab_here'],
    ['nul\u0000byte', 'nul_byte'],
    ['rtl\u202Eexe.txt', 'rtl_exe.txt'],
    ['CON', '_CON'],
    ['lpt1.log', '_lpt1.log'],
    ['console.log', 'console.log']
  ])('%j → %j', (claimed, safe) => {
    expect(safeFileName(claimed)).toBe(safe)
  })

  it('keeps names short, in bytes, with their extension', () => {
    const name = safeFileName(`${'日本'.repeat(200)}.mkv`)
    expect(new TextEncoder().encode(name).byteLength).toBeLessThanOrEqual(180)
    expect(name.endsWith('.mkv')).toBe(true)
  })

  it('numbers names before their extension', () => {
    expect(numberedName('x', 1)).toBe('x (1)')
    expect(numberedName('a.tar.gz', 2)).toBe('a.tar (2).gz')
  })
})

describe('ReceiveFolder', () => {
  it('an aborted transfer leaves nothing; a finished one gets a free name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-recv-'))
    try {
      const folder = new ReceiveFolder(dir)
      const aborted = await folder.open({ peer: 'p', id: 'a'.repeat(32), name: 'f.txt', size: 3, chunkSize: 1024 })
      await aborted.write(new Uint8Array([1, 2, 3]))
      await aborted.abort()
      expect(await readdir(dir)).toEqual([])
      for (const expected of ['f.txt', 'f (1).txt']) {
        const file = await folder.open({ peer: 'p', id: expected === 'f.txt' ? 'b'.repeat(32) : 'c'.repeat(32), name: '../f.txt', size: 1, chunkSize: 1024 })
        await file.write(new Uint8Array([9]))
        expect((await file.finish()).savedAs).toBe(expected)
      }
      expect((await readdir(dir)).sort()).toEqual(['f (1).txt', 'f.txt'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('LineSplitter', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

  it('cuts lines across chunks, drops \\r and blank lines', () => {
    const s = new LineSplitter(100)
    expect(s.push(enc('{"a"'))).toEqual([])
    expect(s.push(enc(':1}\r\n\n  \n{"b":2}\n{"c"'))).toEqual([{ line: '{"a":1}' }, { line: '{"b":2}' }])
    expect(s.push(enc(':3}\n'))).toEqual([{ line: '{"c":3}' }])
  })

  it('reports a long line once, as soon as it passes the limit, keeps no more than the limit, and resumes after its newline', () => {
    const s = new LineSplitter(10)
    expect(s.push(enc('0123456789ab'))).toEqual([{ tooLong: 12 }])
    expect(s.push(enc('more and more'))).toEqual([])
    expect(s.buffered).toBe(0)
    expect(s.push(enc('end\nok\n'))).toEqual([{ line: 'ok' }])
    // exactly at the limit is fine
    expect(s.push(enc('0123456789\n'))).toEqual([{ line: '0123456789' }])
  })

  it('flags bytes that are not UTF-8', () => {
    expect(new LineSplitter(10).push(new Uint8Array([0xc3, 0x28, 0x0a]))).toEqual([{ badUtf8: true }])
  })
})
