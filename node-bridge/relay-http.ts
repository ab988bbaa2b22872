import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { contentIdSchema, parseManifest, verifyManifest, type ContentId, type Manifest } from '@core/content/manifest'
import { isValidFilename } from '@core/content/filename'
import { relayIceSchema, type RelayIce } from '@core/ice/info'
import { anySignal, type AbortOptions } from '@core/util/abort'
import { ManifestMismatchError, RelayHttpError, UnknownVideoError } from './errors'

/** One video of the relay's catalogue (`GET /list`); fields beyond these are kept as sent. */
export const catalogueEntrySchema = z.looseObject({
  filename: z.string().refine(isValidFilename, 'not a valid filename'),
  contentId: contentIdSchema,
  size: z.number().int().min(1),
  /** How many chunks; absent from older relays. */
  chunks: z.number().int().min(1).optional(),
  mime: z.string().max(100),
  title: z.string().max(1000).optional(),
  /** The relay holds the bytes (its library): a source whoever else has it. */
  origin: z.boolean().optional(),
  /** `library`, `browser`, or `relay`: another relay's library video, whose manifest this relay gives and whose bytes come from peers. */
  source: z.string().max(100).optional(),
  /** For `source: 'relay'`: that relay's peer id. */
  relay: z.string().max(128).optional()
})
export type CatalogueEntry = z.infer<typeof catalogueEntrySchema>

const infoSchema = z.object({ peerId: z.string().min(1), multiaddrs: z.array(z.string()) })
const manifestReplySchema = z.object({ contentId: contentIdSchema, manifest: z.unknown() })

const DEFAULT_TIMEOUT_MS = 10_000
/** A catalogue larger than this is refused rather than parsed. */
const MAX_REPLY_BYTES = 32 * 1024 * 1024

/**
 * The relay's HTTP side as the bridge uses it: where to dial it and its
 * ICE servers (`/info`),
 * the catalogue (`/list`) and manifests (`/manifest/:id`, checked against
 * their content id: the relay is trusted no more than a peer).
 */
export class RelayHttp {
  constructor (readonly origin: string, private readonly fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)) {}

  /** The relay's TCP multiaddr (ending in /p2p/<id>), from `/info`. */
  async tcpAddr (options?: AbortOptions): Promise<Multiaddr> {
    const info = infoSchema.parse(await this.json('/info', options))
    const tcp = info.multiaddrs.find(a => a.includes('/tcp/') && !/\/(ws|wss|p2p-circuit|webrtc)(\/|$)/.test(a))
    if (tcp == null) throw new RelayHttpError(`The relay at ${this.origin} offers no TCP address`)
    const ma = multiaddr(tcp)
    return ma.getComponents().some(c => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${info.peerId}`)
  }

  /** The relay's STUN/TURN servers, TURN credentials made for this request (none from a relay that predates them). */
  async ice (options?: AbortOptions): Promise<RelayIce> {
    return relayIceSchema.parse(await this.json('/info', options))
  }

  /** The catalogue; entries that do not parse are left out rather than failing the whole list. */
  async list (options?: AbortOptions): Promise<CatalogueEntry[]> {
    const body = await this.json('/list', options)
    if (!Array.isArray(body)) throw new RelayHttpError('The relay\'s /list is not an array')
    return body.flatMap(item => {
      const parsed = catalogueEntrySchema.safeParse(item)
      return parsed.success ? [parsed.data] : []
    })
  }

  /** The catalogue entry named `filename`; UnknownVideoError when there is none. */
  async entry (filename: string, options?: AbortOptions): Promise<CatalogueEntry> {
    const entry = (await this.list(options)).find(e => e.filename === filename)
    if (entry == null) throw new UnknownVideoError(`The catalogue has no video named "${filename}"`)
    return entry
  }

  /** The manifest of a content, verified against its id. */
  async manifest (contentId: ContentId, options?: AbortOptions): Promise<Manifest> {
    const reply = manifestReplySchema.parse(await this.json(`/manifest/${contentId}`, options))
    if (reply.contentId !== contentId) throw new ManifestMismatchError(`Asked for the manifest of ${contentId}, got ${reply.contentId}`)
    const manifest = parseManifest(reply.manifest)
    try {
      await verifyManifest(manifest, contentId)
    } catch (err: any) {
      throw new ManifestMismatchError(`The relay's manifest for ${contentId} does not match it: ${err?.message}`)
    }
    return manifest
  }

  private async json (path: string, options?: AbortOptions): Promise<unknown> {
    const url = `${this.origin}${path}`
    let response: Response
    try {
      response = await this.fetchImpl(url, { signal: anySignal(options?.signal, AbortSignal.timeout(DEFAULT_TIMEOUT_MS)), headers: { accept: 'application/json' } })
    } catch (err: any) {
      throw new RelayHttpError(`The relay at ${this.origin} cannot be reached: ${err?.cause?.message ?? err?.message ?? err}`)
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => {})
      throw new UnknownVideoError(`The relay has nothing at ${path}`)
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {})
      throw new RelayHttpError(`GET ${url} answered ${response.status}`)
    }
    const declared = Number(response.headers.get('content-length') ?? 0)
    if (declared > MAX_REPLY_BYTES) {
      await response.body?.cancel().catch(() => {})
      throw new RelayHttpError(`GET ${url} is too large (${declared} bytes)`)
    }
    try {
      return await response.json()
    } catch (err: any) {
      throw new RelayHttpError(`GET ${url} did not send JSON: ${err?.message}`)
    }
  }
}
