import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnDaemon, type Daemon } from '../helpers/daemon'
import { startRelay, type TestRelay } from '../helpers/relay'
import { createTestCa, type TestCa } from '../helpers/tls'
import { writeFile } from 'node:fs/promises'

/**
 * A bridge pointed at a relay's https:// URL reads its /info over HTTPS
 * and dials its plain TCP address, as with http://. A certificate of a
 * private CA is trusted through NODE_EXTRA_CA_CERTS (the README says so);
 * without it the bridge says the relay is unreachable and does not connect.
 */
describe('the bridge and a relay served over HTTPS', () => {
  let ca: TestCa
  let r: TestRelay
  let dir: string
  const daemons: Daemon[] = []

  beforeAll(async () => {
    ca = await createTestCa()
    const leaf = await ca.issue({ ips: ['127.0.0.1'] })
    await writeFile(join(ca.dir, 'relay.pem'), leaf.cert)
    await writeFile(join(ca.dir, 'relay.key'), leaf.key)
    r = await startRelay([], { tlsCert: join(ca.dir, 'relay.pem'), tlsKey: join(ca.dir, 'relay.key') })
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-bridge-https-'))
  })

  afterAll(async () => {
    await Promise.allSettled(daemons.map(async d => { await d.stop() }))
    await r?.close()
    await ca?.close()
    await rm(dir, { recursive: true, force: true })
  })

  const bridge = (name: string, env: NodeJS.ProcessEnv): Daemon => {
    const d = spawnDaemon('node-bridge/main.ts', [
      '--api-port', '0', '--p2p-port', '0', '--ws-port', '0', '--ipc-port', '0', '--ipc-ws-port', '0',
      '--relay-http', r.relay.httpUrl(),
      '--cache', join(dir, name, 'cache'), '--data-dir', join(dir, name, 'data'), '--receive-dir', join(dir, name, 'received')
    ], env)
    daemons.push(d)
    return d
  }

  it('with NODE_EXTRA_CA_CERTS it connects to the relay (over TCP); without, it reports the relay unreachable', async () => {
    const trusting = bridge('trusting', { NODE_EXTRA_CA_CERTS: ca.certFile })
    const untrusting = bridge('untrusting', { NODE_EXTRA_CA_CERTS: '' })
    const id = r.relay.node.peerId.toString()
    await trusting.line(new RegExp(`Connected to the P2P server: .*${id}`))
    const connections = r.relay.node.getConnections().map(c => c.remoteAddr.toString())
    expect(connections.some(a => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+(\/p2p\/.*)?$/.test(a))).toBe(true)
    await untrusting.line(/P2P server unreachable \(.*(certificate|verify).*\)/i)
    expect(untrusting.output.join('\n')).not.toMatch(/Connected to the P2P server/)
  }, 120_000)
})
