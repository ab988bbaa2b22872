import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, open, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRelay, type TestRelay } from '../../helpers/relay'
import type { TestIpcClient } from './client'
import { introduce, startChatBridge, type ChatBridge } from './helpers'

async function digestFile (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** Every path under `dir`, recursively (to see that nothing appeared outside the receive folder). */
async function tree (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(join(entry.parentPath, entry.name))
  return out.sort()
}

describe('send_file between two bridges', () => {
  let relay: TestRelay
  let alice: ChatBridge
  let bob: ChatBridge
  let toAlice: TestIpcClient
  let toBob: TestIpcClient

  beforeAll(async () => {
    relay = await startRelay([])
    alice = await startChatBridge(relay, 'Alice')
    bob = await startChatBridge(relay, 'Bob')
    await introduce(alice, bob)
    toAlice = await alice.ipc()
    toBob = await bob.ipc()
    await toAlice.request({ command: 'status', action: 'subscribe', data: { events: ['file_progress'] } })
    await toBob.request({ command: 'status', action: 'subscribe', data: null })
  })
  afterAll(async () => {
    toAlice?.close()
    toBob?.close()
    await alice?.close()
    await bob?.close()
    await relay?.close()
  })

  it('a 50 MB file arrives byte-identical, end-to-end encrypted, with progress on both sides', async () => {
    expect(await toAlice.request({ command: 'contacts', action: 'negotiate_keys', data: { peer: 'Bob' } })).toMatchObject({ success: true })
    const size = 50 * 1000 * 1000
    const path = join(alice.outbox, 'big video.bin')
    const handle = await open(path, 'w')
    const block = Buffer.alloc(1024 * 1024)
    for (let written = 0, n = 0; written < size; n++) {
      for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((n * 2654435761 + i * 40503) >>> 0, i)
      const len = Math.min(block.length, size - written)
      await handle.write(block, 0, len)
      written += len
    }
    await handle.close()
    const expected = await digestFile(path)

    const reply = await toAlice.request({ command: 'p2p', action: 'send_file', data: { peer: 'Bob', file_path: path, chunk_size: 8192 } }, 120_000)
    expect(reply).toMatchObject({ success: true, data: { message: 'File sent', peer: 'Bob', file_name: 'big video.bin', size, sha256: expected, encrypted: true } })

    const done = await toBob.event(e => e.event === 'file_received', 10_000)
    expect(done.data).toMatchObject({ peer: 'Alice', file_name: 'big video.bin', saved_as: 'big video.bin', size, sha256: expected, encrypted: true })
    expect(done.data.path).toBe(join(bob.receiveDir, 'big video.bin'))
    expect((await stat(done.data.path)).size).toBe(size)
    expect(await digestFile(done.data.path)).toBe(expected)

    const inbound = toBob.events.filter(e => e.event === 'file_progress' && e.data.transfer_id === reply.data.transfer_id)
    const outbound = toAlice.events.filter(e => e.event === 'file_progress' && e.data.transfer_id === reply.data.transfer_id)
    for (const progress of [inbound, outbound]) {
      expect(progress.length).toBeGreaterThan(10)
      expect(progress.map(e => e.data.bytes)).toEqual([...progress.map(e => e.data.bytes)].sort((x, y) => x - y))
      expect(progress.at(-1)!.data).toMatchObject({ bytes: size, total: size, percent: 100 })
    }
    expect(inbound[0]!.data.direction).toBe('in')
    expect(outbound[0]!.data.direction).toBe('out')
    // no partial file stays behind
    expect((await readdir(bob.receiveDir)).filter(n => n.startsWith('.incoming-'))).toEqual([])
  })

  it('whatever name the sender claims, the file lands inside the receive folder under a safe, unique name', async () => {
    const before = (await tree(bob.dir)).filter(p => !p.startsWith(bob.receiveDir))
    const claims: Array<[string, string]> = [
      ['../../x', 'x'],
      ['../../x', 'x (1)'],
      ['..', 'file'],
      ['/etc/passwd', 'passwd'],
      ['..\\..\\windows\\win.ini', 'win.ini'],
      ['.bashrc', 'bashrc'],
      ['con.txt', '_con.txt'],
      ['a\u0000b\nc', 'a_b_c'],
      ['', 'file (1)'],
      [`${'é'.repeat(300)}.mp4`, `${'é'.repeat(88)}.mp4`]
    ]
    for (const [claim, saved] of claims) {
      const content = new TextEncoder().encode(`claimed ${JSON.stringify(claim)}`)
      const file = { name: claim, size: content.byteLength, async * chunks () { yield content } }
      await alice.bridge.node.services.chat.sendFile(bob.bridge.node.peerId, file, { chunkSize: 1024 })
      const event = await toBob.event(e => e.event === 'file_received' && e.data.file_name === claim && !seen.has(e.data.transfer_id))
      seen.add(event.data.transfer_id)
      expect(event.data.saved_as, JSON.stringify(claim)).toBe(saved)
      expect(event.data.path).toBe(join(bob.receiveDir, saved))
    }
    // nothing appeared anywhere else in Bob's folder (cache, data) nor beside it
    expect((await tree(bob.dir)).filter(p => !p.startsWith(bob.receiveDir))).toEqual(before)
    await expect(stat(join(bob.receiveDir, '..', '..', 'x'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await readdir(bob.receiveDir)).sort()).toEqual(expect.arrayContaining(['x', 'x (1)', 'file', 'passwd', 'win.ini', 'bashrc', '_con.txt', 'a_b_c']))
  })

  it('a name taken by a symlink in the receive folder is not written through', async () => {
    const outside = join(bob.dir, 'outside.txt')
    await writeFile(outside, 'untouched')
    const { symlink } = await import('node:fs/promises')
    await symlink(outside, join(bob.receiveDir, 'trap.txt'))
    const content = new TextEncoder().encode('payload')
    await alice.bridge.node.services.chat.sendFile(bob.bridge.node.peerId, { name: 'trap.txt', size: content.byteLength, async * chunks () { yield content } }, { chunkSize: 1024 })
    const event = await toBob.event(e => e.event === 'file_received' && e.data.file_name === 'trap.txt')
    expect(event.data.saved_as).toBe('trap (1).txt')
    expect(await (await import('node:fs/promises')).readFile(outside, 'utf8')).toBe('untouched')
  })

  it('send_file errors say what is wrong', async () => {
    await mkdir(join(alice.outbox, 'a-folder'), { recursive: true })
    const small = join(alice.outbox, 'small.txt')
    await writeFile(small, 'small')
    const cases: Array<[unknown, string]> = [
      [{ peer: 'Bob', file_path: join(alice.outbox, 'nope.bin') }, `File not found: ${join(alice.outbox, 'nope.bin')}`],
      [{ peer: 'Bob', file_path: join(alice.outbox, 'a-folder') }, `Not a regular file: ${join(alice.outbox, 'a-folder')}`],
      [{ peer: 'Nobody', file_path: small }, 'Peer not found: Nobody'],
      [{ peer: 'Bob', file_path: small, chunk_size: 10 }, 'Invalid request for p2p send_file: data.chunk_size: Too small: expected number to be >=256'],
      [{ peer: 'Bob', file_path: small, chunk_size: 8192.5 }, 'Invalid request for p2p send_file: data.chunk_size: expected int, received number'],
      [{ peer: 'Bob', file_path: '' }, 'Invalid request for p2p send_file: data.file_path: must not be empty']
    ]
    for (const [data, error] of cases) {
      expect(await toAlice.request({ command: 'p2p', action: 'send_file', data })).toMatchObject({ success: false, error })
    }
  })

  it('send_file reads only inside the send folders: no path, symlink or .. reaches a file outside, nor the bridge\'s keys', async () => {
    const outside = join(alice.dir, 'secret.txt')
    await writeFile(outside, 'not for peers')
    await symlink(outside, join(alice.outbox, 'innocent.mp4'))
    await symlink('/etc', join(alice.outbox, 'etc'))
    await symlink(join(alice.dir, 'data'), join(alice.outbox, 'data-link'))
    const outsideError = (path: string): string => `${path} is outside the folders files may be sent from (${alice.outbox}): copy it there, or start the bridge with --send-dir <folder>`
    const cases: Array<[string, string]> = [
      [outside, outsideError(outside)],
      ['/etc/hostname', outsideError('/etc/hostname')],
      [join(alice.outbox, 'innocent.mp4'), outsideError(join(alice.outbox, 'innocent.mp4'))],
      [join(alice.outbox, 'etc', 'hostname'), outsideError(join(alice.outbox, 'etc', 'hostname'))],
      ['../../secret.txt', outsideError('../../secret.txt')],
      [join(alice.outbox, '..', '..', 'secret.txt'), outsideError(join(alice.outbox, '..', '..', 'secret.txt'))],
      [join(alice.outbox, 'data-link', 'identity.key'), outsideError(join(alice.outbox, 'data-link', 'identity.key'))],
      [join(alice.dir, 'data', 'kem.key'), outsideError(join(alice.dir, 'data', 'kem.key'))]
    ]
    for (const [path, error] of cases) {
      expect(await toAlice.request({ command: 'p2p', action: 'send_file', data: { peer: 'Bob', file_path: path } }), path).toMatchObject({ success: false, error })
    }
    // a relative path is taken in the outbox: the seed's example works once the file is there
    await writeFile(join(alice.outbox, 'report.txt'), 'inside')
    const sent = await toAlice.request({ command: 'p2p', action: 'send_file', data: { peer: 'Bob', file_path: 'report.txt' } })
    expect(sent).toMatchObject({ success: true, data: { file_name: 'report.txt', size: 6 } })
  })

  it('a send folder that holds the data folder still never sends its keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipbingo-wide-'))
    const broad = await startChatBridge(relay, 'Broad', { dir, sendDirs: [dir] })
    try {
      await introduce(broad, bob)
      const client = await broad.ipc()
      // a relay's key beside it (same file name), and the bridge's own
      await mkdir(join(dir, 'relay'))
      await writeFile(join(dir, 'relay', 'identity.key'), 'a relay key')
      for (const path of [join(dir, 'data', 'identity.key'), join(dir, 'data', 'kem.key'), join(dir, 'relay', 'identity.key')]) {
        const name = path
        expect(await client.request({ command: 'p2p', action: 'send_file', data: { peer: 'Bob', file_path: path } }), name)
          .toMatchObject({ success: false, error: `${path} is one of the bridge's own files (keys, contacts, token): it is never sent` })
      }
      client.close()
    } finally {
      await broad.close()
    }
  })
})

const seen = new Set<string>()
