import { mkdir, rename, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { getCACertificates, setDefaultCACertificates } from 'node:tls'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { webSockets } from '@libp2p/websockets'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseRelayConfig, relayConfigSchema } from '../../relay/config'
import { createRelay } from '../../relay/relay'
import type { LoadedCertificate } from '../../relay/tls/index'
import { startRelay, type TestRelay } from '../helpers/relay'
import { createTestCa, servedFingerprint, type TestCa, type TestLeaf } from '../helpers/tls'

/** The relay's WSS address (`/tls/ws`), as `/info` gives it. */
function wssAddr (addrs: string[]): Multiaddr {
  const found = addrs.find(a => a.includes('/tls/ws/'))
  if (found == null) throw new Error(`no /tls/ws address in ${addrs.join(', ')}`)
  return multiaddr(found)
}

const portOf = (ma: Multiaddr): number => Number(ma.getComponents().find(c => c.name === 'tcp')?.value)

/** What the relay reports, in order, with a way to wait for the next that matches. */
class Reports<T> {
  readonly seen: T[] = []
  private readonly waiters = new Set<(item: T) => void>()
  push = (item: T): void => {
    this.seen.push(item)
    for (const w of this.waiters) w(item)
  }

  /** The first report from now on that matches (60 s at most: the debounce and a loaded machine). */
  async next (match: (item: T) => boolean, what: string): Promise<T> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiters.delete(onItem); reject(new Error(`no ${what} in 60 s (seen: ${JSON.stringify(this.seen)})`)) }, 60_000)
      const onItem = (item: T): void => {
        if (!match(item)) return
        clearTimeout(timer)
        this.waiters.delete(onItem)
        resolve(item)
      }
      this.waiters.add(onItem)
    })
  }
}

/** A renewal as most tools write it: a new file beside the old one, renamed over it. */
async function replaceFile (path: string, text: string): Promise<void> {
  await writeFile(`${path}.new`, text)
  await rename(`${path}.new`, path)
}

describe('the relay with a certificate: HTTPS on its HTTP port, WSS on its WebSockets port, reloaded without restart', () => {
  let ca: TestCa
  let first: TestLeaf
  let r: TestRelay
  let certFile: string
  let keyFile: string
  let dialer: Libp2p
  const reloads = new Reports<LoadedCertificate>()
  const warnings = new Reports<string>()
  const defaultCas = getCACertificates('default')

  beforeAll(async () => {
    ca = await createTestCa()
    first = await ca.issue({ ips: ['127.0.0.1'] })
    const tlsDir = join(ca.dir, 'relay-tls')
    await mkdir(tlsDir)
    certFile = join(tlsDir, 'fullchain.pem')
    keyFile = join(tlsDir, 'privkey.pem')
    await writeFile(certFile, first.cert)
    await writeFile(keyFile, first.key)
    // this process's TLS clients (fetch, the WebSocket libp2p dials with) trust the test CA
    setDefaultCACertificates([...defaultCas, ca.cert])
    r = await startRelay([], { tlsCert: certFile, tlsKey: keyFile }, { onCertificate: reloads.push, onWarning: warnings.push })
    dialer = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() }
    })
  })

  afterAll(async () => {
    await dialer?.stop()
    await r?.close()
    await ca?.close()
    setDefaultCACertificates(defaultCas)
  })

  it('serves /health and /info over https; /info gives a /tls/ws address and no ws:// one', async () => {
    expect(r.relay.httpUrl()).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const health = await fetch(`${r.relay.httpUrl()}/health`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe('OK')
    const info = await (await fetch(`${r.relay.httpUrl()}/info`)).json()
    const ws = (info.multiaddrs as string[]).filter(a => /\/(ws|wss)\//.test(a))
    expect(ws).toEqual([expect.stringMatching(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/tls/ws/p2p/${info.peerId}$`))])
    // the plain TCP address bridges dial stays
    expect(info.multiaddrs).toContainEqual(expect.stringMatching(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//))
    expect(await servedFingerprint('127.0.0.1', Number(new URL(r.relay.httpUrl()).port), ca.cert)).toBe(first.fingerprint256)
  })

  it('a libp2p node that trusts the CA dials its /tls/ws address and pings through it', async () => {
    const addr = wssAddr(r.relay.multiaddrs().map(String))
    const connection = await dialer.dial(addr, { signal: AbortSignal.timeout(20_000) })
    expect(connection.remoteAddr.toString()).toContain('/tls/ws')
    expect(connection.remotePeer.equals(r.relay.node.peerId)).toBe(true)
    expect(await servedFingerprint('127.0.0.1', portOf(addr), ca.cert)).toBe(first.fingerprint256)
  })

  it('the app\'s own https origin may upload; the same host over http:// is another origin', async () => {
    const url = r.relay.httpUrl()
    const preflight = async (origin: string): Promise<Response> => await fetch(`${url}/upload`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' }
    })
    const own = await preflight(url)
    expect(own.status).toBe(204)
    expect(own.headers.get('access-control-allow-origin')).toBe(url)
    expect((await preflight(url.replace('https:', 'http:'))).status).toBe(403)
  })

  it('a renewed pair (written beside, renamed over) is served by new handshakes on both ports, the open connection kept', async () => {
    const open = dialer.getConnections(r.relay.node.peerId)
    expect(open).toHaveLength(1)
    const second = await ca.issue({ ips: ['127.0.0.1'] })
    const reloaded = reloads.next(c => c.fingerprint256 === second.fingerprint256, 'reload to the second certificate')
    await replaceFile(keyFile, second.key)
    await replaceFile(certFile, second.cert)
    await reloaded
    const httpPort = Number(new URL(r.relay.httpUrl()).port)
    const wsPort = portOf(wssAddr(r.relay.multiaddrs().map(String)))
    expect(await servedFingerprint('127.0.0.1', httpPort, ca.cert)).toBe(second.fingerprint256)
    expect(await servedFingerprint('127.0.0.1', wsPort, ca.cert)).toBe(second.fingerprint256)
    expect(r.relay.certificate()?.fingerprint256).toBe(second.fingerprint256)
    // no restart: the same connection, still open, and new dials work
    expect(open[0]?.status).toBe('open')
    const fresh = await createLibp2p({ transports: [webSockets()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
    try {
      const c = await fresh.dial(wssAddr(r.relay.multiaddrs().map(String)), { signal: AbortSignal.timeout(20_000) })
      expect(c.remotePeer.equals(r.relay.node.peerId)).toBe(true)
    } finally {
      await fresh.stop()
    }
  })

  it('a pair that fails to load (a key of another certificate, then no PEM at all) keeps the one in use, with a warning', async () => {
    const before = r.relay.certificate()!.fingerprint256
    const other = await ca.issue({ ips: ['127.0.0.1'] })
    const mismatch = warnings.next(w => /is not the key of the certificate/.test(w), 'key-mismatch warning')
    await replaceFile(certFile, other.cert)
    expect(await mismatch).toContain(`still serving the certificate loaded before (${before})`)
    const notPem = warnings.next(w => /is not PEM/.test(w), 'not-PEM warning')
    await writeFile(certFile, 'this is not a certificate\n')
    await notPem
    // and SIGHUP's path (reloadCertificate) refuses it the same way
    const again = warnings.next(w => /is not PEM/.test(w), 'not-PEM warning on reload')
    await r.relay.reloadCertificate('SIGHUP')
    await again
    const httpPort = Number(new URL(r.relay.httpUrl()).port)
    expect(await servedFingerprint('127.0.0.1', httpPort, ca.cert)).toBe(before)
    expect(await servedFingerprint('127.0.0.1', portOf(wssAddr(r.relay.multiaddrs().map(String))), ca.cert)).toBe(before)
    expect(reloads.seen.map(c => c.fingerprint256)).not.toContain(other.fingerprint256)
  })
})

describe('a renewal as certbot makes it: live/ symlinks repointed to new files in archive/', () => {
  it('is seen and served, with no signal', async () => {
    const ca = await createTestCa()
    let r: TestRelay | undefined
    try {
      const first = await ca.issue({ ips: ['127.0.0.1'] })
      const second = await ca.issue({ ips: ['127.0.0.1'] })
      const archive = join(ca.dir, 'archive')
      const live = join(ca.dir, 'live')
      await mkdir(archive)
      await mkdir(live)
      for (const [n, leaf] of [[1, first], [2, second]] as const) {
        await writeFile(join(archive, `fullchain${n}.pem`), leaf.cert)
        await writeFile(join(archive, `privkey${n}.pem`), leaf.key)
      }
      await symlink('../archive/fullchain1.pem', join(live, 'fullchain.pem'))
      await symlink('../archive/privkey1.pem', join(live, 'privkey.pem'))
      const reloads = new Reports<LoadedCertificate>()
      r = await startRelay([], { tlsCert: join(live, 'fullchain.pem'), tlsKey: join(live, 'privkey.pem') }, { onCertificate: reloads.push })
      const port = Number(new URL(r.relay.httpUrl()).port)
      expect(await servedFingerprint('127.0.0.1', port, ca.cert)).toBe(first.fingerprint256)
      const reloaded = reloads.next(c => c.fingerprint256 === second.fingerprint256, 'reload to archive/*2.pem')
      // certbot: a new symlink under a temporary name, renamed over the old one
      for (const name of ['privkey', 'fullchain']) {
        await symlink(`../archive/${name}2.pem`, join(live, `${name}.pem.new`))
        await rename(join(live, `${name}.pem.new`), join(live, `${name}.pem`))
      }
      await reloaded
      expect(await servedFingerprint('127.0.0.1', port, ca.cert)).toBe(second.fingerprint256)
    } finally {
      await r?.close()
      await ca.close()
    }
  })
})

describe('TLS configuration errors', () => {
  it('one of --tls-cert and --tls-key alone is refused, flag or environment', () => {
    expect(() => parseRelayConfig(['--tls-cert', '/etc/x/fullchain.pem'], {})).toThrow(/tlsKey: HTTPS needs both --tls-cert and --tls-key/)
    expect(() => parseRelayConfig([], { PIPBINGO_TLS_KEY: '/etc/x/privkey.pem' })).toThrow(/tlsCert: HTTPS needs both --tls-cert and --tls-key/)
    expect(parseRelayConfig([], { PIPBINGO_TLS_CERT: 'c.pem', PIPBINGO_TLS_KEY: 'k.pem' })).toMatchObject({ tlsCert: 'c.pem', tlsKey: 'k.pem' })
  })

  it('a missing file, a file that is not PEM, a key of another certificate: createRelay fails naming the file', async () => {
    const ca = await createTestCa()
    try {
      const a = await ca.issue({ ips: ['127.0.0.1'] })
      const b = await ca.issue({ ips: ['127.0.0.1'] })
      const files = { cert: join(ca.dir, 'a.pem'), key: join(ca.dir, 'a.key'), otherKey: join(ca.dir, 'b.key'), junk: join(ca.dir, 'junk.pem') }
      await writeFile(files.cert, a.cert)
      await writeFile(files.key, a.key)
      await writeFile(files.otherKey, b.key)
      await writeFile(files.junk, 'not a certificate')
      const attempt = async (tlsCert: string, tlsKey: string): Promise<unknown> => await createRelay(relayConfigSchema.parse({
        httpPort: 0, tcpPort: 0, wsPort: 0, libraryDir: join(ca.dir, 'library'), dataDir: join(ca.dir, 'data'), tlsCert, tlsKey
      }))
      const missing = join(ca.dir, 'missing.pem')
      await expect(attempt(missing, files.key)).rejects.toMatchObject({ name: 'CertificateLoadError', message: `The TLS certificate ${missing} cannot be read: no such file` })
      await expect(attempt(files.junk, files.key)).rejects.toMatchObject({ name: 'CertificateLoadError', message: expect.stringContaining(`${files.junk} is not PEM`) })
      await expect(attempt(files.cert, files.junk)).rejects.toMatchObject({ name: 'CertificateLoadError', message: expect.stringContaining(`The TLS key ${files.junk} is not PEM`) })
      await expect(attempt(files.cert, files.otherKey)).rejects.toMatchObject({ name: 'CertificateLoadError', message: `The TLS key ${files.otherKey} is not the key of the certificate ${files.cert}` })
    } finally {
      await ca.close()
    }
  })
})
