import { lpStream } from '@libp2p/utils'
import type { ComponentLogger, Connection, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'
import type { ContentId, Manifest } from '../../content/manifest'
import { decodeMessage, encodeList, encodeMessage, requestSchema, type CatalogueError, type CatalogueRequest, type RemoteVideo } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS, MAX_REQUEST_BYTES, PROTOCOL } from './constants'

export interface CatalogueServerComponents {
  registrar: Registrar
  logger: ComponentLogger
}

/** What a relay shares: its own library, never what it learned from other relays. */
export interface CatalogueSource {
  /** Newest first; the answer keeps as many as fit (MAX_LIST_ENTRIES, MAX_LIST_BYTES). */
  list(): RemoteVideo[]
  /** The manifest of one of `list()`'s videos; undefined for any other content. */
  manifest(contentId: ContentId, options?: { signal?: AbortSignal }): Promise<Manifest | undefined>
}

export interface CatalogueServerInit {
  source: CatalogueSource
  /**
   * Whether `peer` may be answered now (a rate limit: the relay lets its
   * configured peer relays through and counts the others); refused ones get
   * `busy`. Default: everyone.
   */
  admit?(peer: PeerId): boolean
}

/** Serves /pipbingo/catalogue/1.0.0 from a CatalogueSource. */
export class CatalogueServer implements Startable {
  private readonly log

  constructor (private readonly components: CatalogueServerComponents, private readonly init: CatalogueServerInit) {
    this.log = components.logger.forComponent('pipbingo:catalogue')
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL, (stream, connection) => this.handle(stream, connection), { maxInboundStreams: MAX_INBOUND_STREAMS })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL)
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
    const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS)
    let answer: Uint8Array
    try {
      const request = decodeMessage((await lp.read({ signal })).subarray(), requestSchema)
      answer = await this.answer(peer, request, signal)
    } catch (err: any) {
      this.log('bad catalogue request from %p: %s', peer, err?.message)
      answer = encodeMessage(refusal('bad-request', String(err?.message ?? err)))
    }
    try {
      await lp.write(answer, { signal })
      await stream.close({ signal })
    } catch (err: any) {
      stream.abort(err)
    }
  }

  private async answer (peer: PeerId, request: CatalogueRequest, signal: AbortSignal): Promise<Uint8Array> {
    if (this.init.admit?.(peer) === false) {
      this.log('%p asks too often: busy', peer)
      return encodeMessage(refusal('busy', 'Too many catalogue requests: ask again later'))
    }
    switch (request.type) {
      case 'list': {
        const entries = this.init.source.list()
        const { bytes, sent } = encodeList(entries)
        if (sent < entries.length) this.log('list for %p: %d of %d videos fit', peer, sent, entries.length)
        return bytes
      }
      case 'manifest': {
        let manifest: Manifest | undefined
        try {
          manifest = await this.init.source.manifest(request.contentId, { signal })
        } catch (err: any) {
          this.log.error('cannot read the manifest of %s: %s', request.contentId, err?.message)
          return encodeMessage(refusal('failed', 'The manifest cannot be read now'))
        }
        if (manifest == null) return encodeMessage(refusal('unknown', 'No such video in this relay\'s library'))
        return encodeMessage({ ok: true, manifest })
      }
    }
  }
}

function refusal (code: CatalogueError['code'], error: string): CatalogueError {
  return { ok: false, code, error: error.slice(0, 1000) }
}

/** A libp2p service for relays: `services: { catalogue: catalogueServer({ source }) }`. */
export function catalogueServer (init: CatalogueServerInit): (components: CatalogueServerComponents) => CatalogueServer {
  return (components) => new CatalogueServer(components, init)
}
