import { createHash } from 'node:crypto'
import type { ContentId } from '@core/content/manifest'
import type { ChunkStore } from '@core/store/types'
import type { SwarmSession } from '@core/swarm/session'
import { sha256OfFile } from './files'
import { measure, type Measured } from './measure'
import type { BenchPeer, SessionOptions } from './peer'

const TIMEOUT_MS = 180_000

export interface SwarmDownload extends Measured<SwarmSession> {
  /** The session, done and stopped: its stats stay readable. */
  session: SwarmSession
}

/**
 * Download a content into the peer's store with a fresh session, measured
 * from `start()` to `done` (wall time, main-thread load, CPU); then check the
 * content the store completed is byte-identical to the source (SHA-256),
 * outside the measurement. Throws on a timeout or on wrong bytes: a
 * benchmark that moves wrong bytes is worthless.
 */
export async function swarmDownload (peer: BenchPeer, options: SessionOptions, expectedSha256: string): Promise<SwarmDownload> {
  const session = peer.session(options)
  const timer = setTimeout(() => { session.stop() }, TIMEOUT_MS)
  let measured: Measured<SwarmSession>
  try {
    measured = await measure(async () => {
      await session.start()
      await session.done
      return session
    })
  } catch (err: any) {
    throw new Error(`the download did not complete within ${TIMEOUT_MS / 1000} s: ${err?.message ?? err}`)
  } finally {
    clearTimeout(timer)
  }
  session.stop()
  const actual = options.store != null ? await sha256OfStore(options.store, options.contentId) : await sha256OfFile(completedPath(peer, options.contentId))
  if (actual !== expectedSha256) throw new Error(`the downloaded file differs from the source (sha256 ${actual} != ${expectedSha256})`)
  return { ...measured, session }
}

function completedPath (peer: BenchPeer, contentId: ContentId): string {
  const path = peer.store.pathOf(contentId)
  if (path == null) throw new Error('the session is done but the store holds no complete file')
  return path
}

/** SHA-256 of a content as a store holds it, chunk after chunk. */
async function sha256OfStore (store: ChunkStore, contentId: ContentId): Promise<string> {
  const manifest = await store.getManifest(contentId)
  if (manifest == null) throw new Error('the store does not know the content')
  const hash = createHash('sha256')
  for (let i = 0; i < manifest.hashes.length; i++) {
    const chunk = await store.getChunk(contentId, i)
    if (chunk == null) throw new Error(`the store lacks chunk ${i}`)
    hash.update(chunk)
  }
  return hash.digest('hex')
}
