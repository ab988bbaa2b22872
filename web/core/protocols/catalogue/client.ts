import { lpStream } from '@libp2p/utils'
import type { Connection } from '@libp2p/interface'
import { parseManifest, verifyManifest, type ContentId, type Manifest } from '../../content/manifest'
import { anySignal, type AbortOptions } from '../../util/abort'
import { decodeMessage, encodeMessage, listResponseSchema, manifestResponseSchema, type CatalogueRequest, type RemoteVideo } from './codec'
import { DEFAULT_REQUEST_TIMEOUT_MS, MAX_LIST_BYTES, MAX_MANIFEST_REPLY_BYTES, PROTOCOL } from './constants'
import { CatalogueRequestError, CatalogueUnreachableError } from './errors'
import type { z } from 'zod'

const CLOSE_TIMEOUT_MS = 5_000

/** The other relay's library videos (at most MAX_LIST_ENTRIES; a larger or malformed answer is refused whole). */
export async function askList (connection: Pick<Connection, 'newStream'>, options?: AbortOptions): Promise<RemoteVideo[]> {
  const response = await ask(connection, { type: 'list' }, listResponseSchema, MAX_LIST_BYTES, options)
  if (!response.ok) throw new CatalogueRequestError(response.error)
  return response.entries
}

/**
 * The manifest of `contentId` from the other relay, parsed and verified
 * against the id (ContentIdMismatchError, InvalidManifestError otherwise):
 * another relay is trusted no more than a peer. Unknown there: undefined.
 */
export async function askManifest (connection: Pick<Connection, 'newStream'>, contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> {
  const response = await ask(connection, { type: 'manifest', contentId }, manifestResponseSchema, MAX_MANIFEST_REPLY_BYTES, options)
  if (!response.ok) {
    if (response.code === 'unknown') return undefined
    throw new CatalogueRequestError(response.error)
  }
  const manifest = parseManifest(response.manifest)
  await verifyManifest(manifest, contentId)
  return manifest
}

async function ask<T> (connection: Pick<Connection, 'newStream'>, request: CatalogueRequest, schema: z.ZodType<T>, maxBytes: number, options?: AbortOptions): Promise<T> {
  const signal = anySignal(options?.signal, AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT_MS))
  try {
    const stream = await connection.newStream(PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: maxBytes })
      await lp.write(encodeMessage(request), { signal })
      const response = decodeMessage((await lp.read({ signal })).subarray(), schema)
      stream.close({ signal: AbortSignal.timeout(CLOSE_TIMEOUT_MS) }).catch((err: Error) => { stream.abort(err) })
      return response
    } catch (err: any) {
      // an answer past the cap, malformed or late: nothing more is read from it
      stream.abort(err)
      throw err
    }
  } catch (err: any) {
    throw new CatalogueUnreachableError(`Catalogue ${request.type} request failed: ${err?.message ?? err}`)
  }
}
