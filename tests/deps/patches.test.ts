import { readFile, readdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Stream } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { createTestNode } from '../helpers/nodes'

/**
 * The fixes we carry in patches/ (applied by `patch-package` on every
 * install, see package.json's postinstall) are in the installed packages:
 * an install with --ignore-scripts, or a dependency upgraded under a patch,
 * would bring the bug back silently.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(join(root, 'package.json'))

describe('patches/', () => {
  it('patches exactly the installed version of each package it names', async () => {
    const files = (await readdir(join(root, 'patches'))).filter(f => f.endsWith('.patch'))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      // @scope+name+version.patch
      const match = /^(.+)\+([^+]+)\.patch$/.exec(file)
      if (match == null) throw new Error(`${file}: not a patch-package file name (<name>+<version>.patch)`)
      const [, escaped = '', patched = ''] = match
      const name = escaped.replace('+', '/')
      const { version } = JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8'))
      expect(`${name}@${String(version)}`, `${file}: upgrade or drop the patch`).toBe(`${name}@${patched}`)
    }
  })

  it("@libp2p/webrtc's initiator does not wait for an 'open' its init channel already fired", async () => {
    // the recipient closes the 'init' channel as soon as it sees it; on a busy machine the channel opens and
    // closes while the initiator still reads ICE candidates, and the unpatched code then waits for 'open'
    // until the dial times out (6 s): the stall behind the two-browser tests' failures
    const path = join(dirname(require.resolve('@libp2p/webrtc')), 'private-to-private', 'initiate-connection.js')
    const source = await readFile(path, 'utf8')
    expect(source, `${path} is not patched: run npm ci (its postinstall applies patches/)`).toContain("await pEvent(channel, ['open', 'close']")
    expect(source).toContain("if (channel.readyState !== 'closed')")
  })

  it("@libp2p/webrtc: a peer connection that closes while ICE candidates are read fails the dial at once", async () => {
    // unpatched, readCandidatesUntilConnected logged the ConnectionFailedError and returned as if connected:
    // the initiator then waited for its init channel's 'open' until the dial's timeout (docs/upstream.md, 5)
    const dir = dirname(require.resolve('@libp2p/webrtc'))
    const { readCandidatesUntilConnected } = await import(pathToFileURL(join(dir, 'private-to-private', 'util.js')).href)
    const { RTCPeerConnection } = await import(pathToFileURL(join(dir, 'webrtc', 'index.js')).href)
    const pc = new RTCPeerConnection()
    // a signalling stream on which no candidate comes: only the peer connection can end the read
    const silent = {
      read: async ({ signal }: { signal: AbortSignal }) => await new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
      })
    }
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {} })
    const timeout = new AbortController()
    const reading = readCandidatesUntilConnected(pc, silent, { direction: 'initiator', signal: timeout.signal, log })
    pc.close()
    try {
      await expect(reading).rejects.toThrow('RTCPeerConnection connection state became "closed"')
      expect(timeout.signal.aborted).toBe(false)
    } finally {
      timeout.abort()
    }
  })

  it('@chainsafe/libp2p-noise: one KeyObject per cipher key, and a key changed in place gets a new one', async () => {
    // node:crypto makes a key object from a raw key on every createCipheriv: ~30 µs a frame against ~9 µs
    const path = join(root, 'node_modules', '@chainsafe', 'libp2p-noise', 'dist', 'src', 'crypto', 'index.js')
    const { defaultCrypto } = await import(pathToFileURL(path).href)
    const source = await readFile(path, 'utf8')
    expect(source, 'libp2p-noise is not patched: run npm ci (its postinstall applies patches/)').toContain('keyObject(k)')
    const key = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(12)
    const ad = new Uint8Array(0)
    const plaintext = new Uint8Array(4096).fill(42) // above the 1,200 bytes where node:crypto takes over
    const sealed = defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key).subarray()
    expect(Buffer.from(defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key).subarray())).toEqual(Buffer.from(plaintext))
    // the same Uint8Array, other bytes: what a cached key object must not survive
    key.fill(9)
    expect(() => defaultCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, key)).toThrow()
    const resealed = defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key).subarray()
    expect(Buffer.from(resealed)).not.toEqual(Buffer.from(sealed))
  })

  it('@libp2p/utils: onDrain() waits for the next drain after a first one (writes really wait for the peer)', async () => {
    const a = await createTestNode()
    const b = await createTestNode()
    try {
      let accepted: (stream: Stream) => void = () => {}
      const opened = new Promise<Stream>(resolve => { accepted = resolve })
      await b.handle('/pipbingo/test/drain', (stream) => { stream.pause(); accepted(stream) })
      const stream = await a.dialProtocol(b.getMultiaddrs(), '/pipbingo/test/drain')
      const remote = await opened
      // fill the peer's window (yamux: 256 KiB) until the stream says to wait
      const fill = async (): Promise<void> => { while (stream.send(new Uint8Array(64 * 1024))) await Promise.resolve() }
      await fill()
      const first = stream.onDrain()
      remote.resume()
      await first
      // the peer reads nothing again: a second onDrain() must wait for a drain of its own, not answer
      // with the first, already resolved promise. A window update still in flight may drain the stream
      // again at any time (that is a real drain), so what is asserted is the order: it settles only
      // after a 'drain' event that came after it was asked for.
      remote.pause()
      await fill()
      let drains = 0
      stream.addEventListener('drain', () => { drains++ })
      const second = stream.onDrain().then(() => drains)
      remote.resume()
      expect(await second).toBeGreaterThan(0)
    } finally {
      await a.stop()
      await b.stop()
    }
  })
})
