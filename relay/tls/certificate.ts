import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import { CertificateLoadError } from './errors'

/** Where the relay's certificate (a PEM chain, leaf first: certbot's fullchain.pem) and its key (PEM) are. */
export interface CertificateFiles {
  certFile: string
  keyFile: string
}

/** A certificate and its key, checked to work together. */
export interface LoadedCertificate {
  /** The PEM texts, as `https.createServer` and `setSecureContext` take them. */
  cert: string
  key: string
  /** The leaf's SHA-256 fingerprint (`AA:BB:…`), its names and its end of validity, for the console. */
  fingerprint256: string
  subjectAltName: string
  validTo: Date
}

/**
 * Reads and checks a certificate pair: both files readable, the first
 * certificate and the key valid PEM, the key the certificate's own, and
 * OpenSSL able to build a context from them. Throws CertificateLoadError
 * naming the file and the reason.
 */
export async function loadCertificate (files: CertificateFiles): Promise<LoadedCertificate> {
  const cert = await readPem(files.certFile, 'certificate')
  const key = await readPem(files.keyFile, 'key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err: any) {
    throw new CertificateLoadError(`The TLS certificate ${files.certFile} is not a PEM certificate (${err?.message ?? err})`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch (err: any) {
    throw new CertificateLoadError(`The TLS key ${files.keyFile} is not a PEM private key, or it is encrypted (${err?.message ?? err})`)
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new CertificateLoadError(`The TLS key ${files.keyFile} is not the key of the certificate ${files.certFile}`)
  }
  try {
    createSecureContext({ cert, key })
  } catch (err: any) {
    throw new CertificateLoadError(`The TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used together: ${err?.message ?? err}`)
  }
  return { cert, key, fingerprint256: x509.fingerprint256, subjectAltName: x509.subjectAltName ?? '', validTo: new Date(x509.validTo) }
}

async function readPem (file: string, what: 'certificate' | 'key'): Promise<string> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new CertificateLoadError(`The TLS ${what} ${file} cannot be read: ${err?.code === 'ENOENT' ? 'no such file' : err?.message ?? err}`)
  }
  if (!text.includes('-----BEGIN ')) throw new CertificateLoadError(`The TLS ${what} ${file} is not PEM (no -----BEGIN line)`)
  return text
}
