/** A certificate or key file that cannot be read, is not PEM, or a key that does not match its certificate. */
export class CertificateLoadError extends Error {
  static override name = 'CertificateLoadError'
  override name = 'CertificateLoadError'
  constructor (message = 'The TLS certificate cannot be loaded') { super(message) }
}
