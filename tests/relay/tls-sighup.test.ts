import { once } from 'node:events'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnDaemon, type Daemon } from '../helpers/daemon'
import { createTestCa, servedFingerprint, type TestCa } from '../helpers/tls'

/** The exit code of a process that exits by itself. */
async function exitCodeOf (d: Daemon): Promise<number | null> {
  return d.child.exitCode ?? (await once(d.child, 'exit'))[0]
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * `npm run relay` with the TLS and public-address flags, as a process.
 * SIGHUP loads the certificate files again: they are laid out as certbot
 * does (live/ holds symlinks into archive/), and the new pair is written in
 * place in archive/, which the relay's watch of live/ does not see, so only
 * the signal can make it reload.
 */
describe('the relay process with TLS flags: SIGHUP, the URL it prints, bad configurations', () => {
  let ca: TestCa
  let dir: string
  let relay: Daemon

  beforeAll(async () => {
    ca = await createTestCa()
    dir = await mkdtemp(join(tmpdir(), 'pipbingo-sighup-'))
    for (const sub of ['archive', 'live', 'library', 'web']) await mkdir(join(dir, sub))
  })

  afterAll(async () => {
    await relay?.stop()
    await rm(dir, { recursive: true, force: true })
    await ca?.close()
  })

  const flags = (): string[] => ['--host', '127.0.0.1', '--http-port', '0', '--tcp-port', '0', '--ws-port', '0',
    '--library', join(dir, 'library'), '--data-dir', join(dir, 'data'), '--web-root', join(dir, 'web')]

  it('SIGHUP: new handshakes on the HTTPS and WSS ports get the new certificate, same process', async () => {
    const first = await ca.issue({ ips: ['127.0.0.1'] })
    await writeFile(join(dir, 'archive', 'cert1.pem'), first.cert)
    await writeFile(join(dir, 'archive', 'privkey1.pem'), first.key)
    await symlink('../archive/cert1.pem', join(dir, 'live', 'fullchain.pem'))
    await symlink('../archive/privkey1.pem', join(dir, 'live', 'privkey.pem'))
    relay = spawnDaemon('relay/main.ts', [...flags(), '--tls-cert', join(dir, 'live', 'fullchain.pem'), '--tls-key', join(dir, 'live', 'privkey.pem')])
    const httpPort = Number((await relay.line(/open https:\/\/127\.0\.0\.1:(\d+)\//))[1])
    const wsPort = Number((await relay.line(/listening on \/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/tls\/ws\/p2p\//))[1])
    await relay.line(new RegExp(`HTTPS and WSS with the certificate for 127\\.0\\.0\\.1, .*\\(SHA-256 ${escape(first.fingerprint256)}\\)`))
    expect(await servedFingerprint('127.0.0.1', httpPort, ca.cert)).toBe(first.fingerprint256)
    expect(await servedFingerprint('127.0.0.1', wsPort, ca.cert)).toBe(first.fingerprint256)

    const second = await ca.issue({ ips: ['127.0.0.1'] })
    await writeFile(join(dir, 'archive', 'privkey1.pem'), second.key)
    await writeFile(join(dir, 'archive', 'cert1.pem'), second.cert)
    relay.child.kill('SIGHUP')
    await relay.line(new RegExp(`TLS certificate reloaded \\(SIGHUP\\): 127\\.0\\.0\\.1, .*\\(SHA-256 ${escape(second.fingerprint256)}\\)`))
    expect(await servedFingerprint('127.0.0.1', httpPort, ca.cert)).toBe(second.fingerprint256)
    expect(await servedFingerprint('127.0.0.1', wsPort, ca.cert)).toBe(second.fingerprint256)
    expect(relay.exitCode()).toBeNull()
  }, 120_000)

  it('--public-url is the URL it prints to open', async () => {
    const proxied = spawnDaemon('relay/main.ts', [...flags(), '--public-url', 'https://video.example.org'])
    await proxied.line(/✅ open https:\/\/video\.example\.org\/ /)
    expect((await proxied.line(/listening on (\S+\/tls\/ws\S*)/))[1]).toMatch(/^\/dns4\/video\.example\.org\/tcp\/443\/tls\/ws\/p2p\//)
    await proxied.stop()
  }, 120_000)

  it('a bad TLS configuration stops it at start with a message that names the problem', async () => {
    const missing = join(dir, 'live', 'nothing.pem')
    const onlyCert = spawnDaemon('relay/main.ts', [...flags(), '--tls-cert', join(dir, 'live', 'fullchain.pem')])
    const noFile = spawnDaemon('relay/main.ts', [...flags(), '--tls-cert', missing, '--tls-key', join(dir, 'live', 'privkey.pem')])
    await onlyCert.line(/tlsKey: HTTPS needs both --tls-cert and --tls-key \(or neither\)/)
    expect(await exitCodeOf(onlyCert)).toBe(2)
    await noFile.line(new RegExp(`cannot start the relay: The TLS certificate ${escape(missing)} cannot be read: no such file$`))
    expect(await exitCodeOf(noFile)).toBe(1)
    // no stack: a configuration error is not a crash
    expect(noFile.output.join('\n')).not.toMatch(/\n\s+at /)
  }, 120_000)
})
