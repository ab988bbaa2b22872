import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ListEntry } from '../../relay/catalogue'
import { pseudoRandomBytes } from '../helpers/content'
import { spawnDaemon, type Daemon } from '../helpers/daemon'
import { startRelay, tcpAddr, type TestRelay } from '../helpers/relay'

/**
 * `npm run relay -- --peer-relay …` as a person runs it: relay B in its
 * own process given A (in this one) and a relay that is not there. What
 * its console says, and a bad --peer-relay refused before anything starts.
 */
describe('relay/main.ts with --peer-relay', () => {
  let a: TestRelay
  let dir: string
  let b: Daemon
  let absent: string

  beforeAll(async () => {
    // a relay that is not there: port 9 (discard), where nothing listens here
    absent = `/ip4/127.0.0.1/tcp/9/p2p/${peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()}`
    a = await startRelay([{ name: 'on-a.mp4', bytes: pseudoRandomBytes(100_000, 31) }])
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-relay-main-'))
    await mkdir(join(dir, 'library'))
    await mkdir(join(dir, 'web'))
  })
  afterAll(async () => {
    await b?.stop()
    await a?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('says when a peer relay is connected, says once that another cannot be reached, and lists the first one\'s library', async () => {
    b = spawnDaemon('relay/main.ts', [
      '--http-port', '0', '--tcp-port', '0', '--ws-port', '0',
      '--library', join(dir, 'library'), '--data-dir', join(dir, 'data'), '--web-root', join(dir, 'web'),
      '--peer-relay', tcpAddr(a).toString(), '--peer-relay', absent
    ])
    const url = (await b.line(/✅ open (http:\/\/\S+?)\/ /))[1]!.replace('localhost', '127.0.0.1')
    await b.line(new RegExp(`^🔗 peer relay ${a.relay.node.peerId.toString()} connected`))
    await b.line(/^⚠️ {2}Peer relay \S+ at \/ip4\/127\.0\.0\.1\/tcp\/9\/p2p\/\S+ cannot be reached \(.*\): dialling it again in the background$/)
    await expect.poll(async () => (await (await fetch(`${url}/list`)).json() as ListEntry[]).map(e => `${e.filename} ${e.source}`), { timeout: 30_000 })
      .toEqual(['on-a.mp4 relay'])
    expect(b.output.filter(l => l.includes('cannot be reached'))).toHaveLength(1)
  }, 90_000)

  it.each([
    ['/ip4/127.0.0.1/tcp/10000', /peerRelays\.0: expected a multiaddr ending in \/p2p\/<peer id>/],
    ['/ip4/127.0.0.1/tcp/10000/p2p/12D3KooWnotapeerid', /peerRelays\.0: not a valid multiaddr with a valid peer id at its end/]
  ])('--peer-relay %s: a clear error and the usage, exit code 2', async (value, message) => {
    const bad = spawnDaemon('relay/main.ts', ['--peer-relay', value])
    await bad.line(message)
    await bad.line(/^Usage: npm run relay/)
    await new Promise<void>(resolve => { if (bad.exitCode() != null) resolve(); else bad.child.once('exit', () => { resolve() }) })
    expect(bad.exitCode()).toBe(2)
  }, 90_000)
})
