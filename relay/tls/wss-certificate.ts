import type { TLSCertificate } from '@libp2p/interface'

export interface WssCertificateComponents {
  /** The node's event bus (libp2p's `components.events`). */
  events: { safeDispatchEvent(type: 'certificate:renew', detail: { detail: TLSCertificate }): boolean }
}

/**
 * Hands a renewed certificate to the node's WebSockets listeners, the way
 * @libp2p/auto-tls does: a `certificate:renew` event, on which
 * @libp2p/websockets (dist/src/listener.js) builds a new HTTPS server for
 * the connections to come; those already open keep theirs. The first
 * certificate is given to `webSockets({ https })` when the node is made.
 */
export class WssCertificate {
  constructor (private readonly components: WssCertificateComponents) {}

  renew (certificate: TLSCertificate): void {
    this.components.events.safeDispatchEvent('certificate:renew', { detail: { key: certificate.key, cert: certificate.cert } })
  }
}

export function wssCertificate (): (components: WssCertificateComponents) => WssCertificate {
  return components => new WssCertificate(components)
}
