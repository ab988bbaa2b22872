import { execFile } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A certificate authority of the test's own, made by `openssl` in a temporary folder. */
export interface TestCa {
  dir: string
  /** The CA's certificate (PEM): what a client is told to trust. */
  cert: string
  certFile: string
  /** A leaf certificate and key signed by this CA, for these IP addresses and names (subjectAltName). */
  issue(san: { ips?: string[], dns?: string[] }): Promise<TestLeaf>
  close(): Promise<void>
}

export interface TestLeaf {
  cert: string
  key: string
  /** `openssl`'s hex SHA-256 of the DER certificate, as `tls` gives `fingerprint256` (`AA:BB:…`). */
  fingerprint256: string
  /** Base64 SHA-256 of the public key (SPKI): what Chromium's `--ignore-certificate-errors-spki-list` takes. */
  spki: string
}

/** A fresh CA (EC P-256, one day) in a temporary folder; `close()` removes it. */
export async function createTestCa (): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'pipbingo-ca-'))
  const keyFile = join(dir, 'ca.key')
  const certFile = join(dir, 'ca.pem')
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=pipbingo test CA', '-keyout', keyFile, '-out', certFile,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  let serial = 0
  return {
    dir,
    cert: await readFile(certFile, 'utf8'),
    certFile,
    async issue (san) {
      const n = ++serial
      const leafKey = join(dir, `leaf${n}.key`)
      const csr = join(dir, `leaf${n}.csr`)
      const leafCert = join(dir, `leaf${n}.pem`)
      const ext = join(dir, `leaf${n}.ext`)
      const names = [...(san.ips ?? []).map(ip => `IP:${ip}`), ...(san.dns ?? []).map(d => `DNS:${d}`)]
      await writeFile(ext, `subjectAltName=${names.join(',')}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`)
      await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
        '-subj', `/CN=pipbingo test leaf ${n}`, '-keyout', leafKey, '-out', csr])
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-set_serial', String(1000 + n),
        '-days', '1', '-extfile', ext, '-out', leafCert])
      const cert = await readFile(leafCert, 'utf8')
      const x509 = new X509Certificate(cert)
      return {
        cert,
        key: await readFile(leafKey, 'utf8'),
        fingerprint256: x509.fingerprint256,
        spki: createHash('sha256').update(x509.publicKey.export({ type: 'spki', format: 'der' })).digest('base64')
      }
    },
    async close () { await rm(dir, { recursive: true, force: true }) }
  }
}

/**
 * The fingerprint of the certificate a new TLS handshake with `host:port`
 * gets, checked against `ca` (the handshake fails on a certificate the CA
 * did not sign or that does not name `host`).
 */
export async function servedFingerprint (host: string, port: number, ca: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256
      socket.destroy()
      resolve(fingerprint)
    })
    socket.setTimeout(20_000, () => { socket.destroy(new Error(`no TLS handshake with ${host}:${port} in 20 s`)) })
    socket.once('error', reject)
  })
}
