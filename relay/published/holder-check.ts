import type { ComponentLogger, Connection, PeerId } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { chunkCount, verifyChunk, type ContentId, type Manifest } from '@core/content/manifest'
import { ChunkChannel, PROTOCOL } from '@core/protocols/chunk'
import { anySignal, type AbortOptions } from '@core/util/abort'
import { HolderCheckFailedError, HolderNotConnectedError, InvalidPeerIdError } from './errors'

/** Chunks the relay fetches from a publisher and checks against the manifest. */
export const DEFAULT_HOLDER_SAMPLES = 3

/** The whole check (stream, requests, hashing) fails past this. */
export const DEFAULT_HOLDER_CHECK_TIMEOUT_MS = 15_000

export interface HolderCheckInit {
  /** The relay's connections to a peer (libp2p's `node.getConnections`). */
  getConnections(peer: PeerId): Connection[]
  /** How many distinct random chunks to ask for (all of them for shorter videos). */
  samples?: number
  timeoutMs?: number
  logger?: ComponentLogger
  /** Where the sampled indexes come from (tests pin them); default crypto-random. */
  pick?(count: number, chunks: number): number[]
}

/**
 * Resolves when `peerId` showed that it holds the content: over the relay's
 * own open (direct, not relayed) connection to that peer, the relay opens
 * the chunk protocol, asks for a few chunks picked at random and checks each
 * against the manifest's hash. Throws InvalidPeerIdError,
 * HolderNotConnectedError or HolderCheckFailedError (saying which chunk and why).
 */
export type HolderCheck = (peerId: string, manifest: Manifest, contentId: ContentId, options?: AbortOptions) => Promise<void>

export function createHolderCheck (init: HolderCheckInit): HolderCheck {
  const log = (init.logger ?? defaultLogger()).forComponent('pipbingo:relay:holder-check')
  const samples = init.samples ?? DEFAULT_HOLDER_SAMPLES
  const pick = init.pick ?? randomIndexes
  /** One check at a time per peer: a flood naming one peer queues, rather than opening a stream each. */
  const running = new Map<string, Promise<void>>()

  return async (peerId, manifest, contentId, options) => {
    const before = running.get(peerId) ?? Promise.resolve()
    const mine = before.then(async () => { await check(peerId, manifest, contentId, options) })
    const tail = mine.catch(() => {})
    running.set(peerId, tail)
    void tail.then(() => { if (running.get(peerId) === tail) running.delete(peerId) })
    await mine
  }

  async function check (peerId: string, manifest: Manifest, contentId: ContentId, options?: AbortOptions): Promise<void> {
    let peer: PeerId
    try {
      peer = peerIdFromString(peerId)
    } catch {
      throw new InvalidPeerIdError(`"${peerId.slice(0, 80)}" is not a libp2p peer id`)
    }
    const connection = init.getConnections(peer).find(c => c.status === 'open' && c.limits == null)
    if (connection == null) {
      throw new HolderNotConnectedError(`Peer ${peerId} is not connected to the relay: the relay lists a video only once it has fetched a few of its chunks from the peer that publishes it, over that peer's own connection`)
    }
    const signal = anySignal(options?.signal, AbortSignal.timeout(init.timeoutMs ?? DEFAULT_HOLDER_CHECK_TIMEOUT_MS))
    let channel: ChunkChannel
    try {
      const stream = await connection.newStream(PROTOCOL, { signal })
      channel = new ChunkChannel(stream, { log, pipelineDepth: samples })
    } catch (err) {
      throw new HolderCheckFailedError(`The relay could not ask peer ${peerId} for chunks: ${(err as Error).message}`)
    }
    try {
      const indexes = pick(Math.min(samples, chunkCount(manifest)), chunkCount(manifest))
      await Promise.all(indexes.map(async index => {
        let data: Uint8Array
        try {
          data = await channel.getChunk(contentId, index, { signal })
        } catch (err) {
          throw new HolderCheckFailedError(`Peer ${peerId} did not give chunk ${index} of the video (${(err as Error).message}): the relay lists only videos their publisher holds`)
        }
        try {
          await verifyChunk(manifest, index, data)
        } catch (err) {
          throw new HolderCheckFailedError(`Chunk ${index} from peer ${peerId} does not match the manifest (${(err as Error).message})`)
        }
      }))
      log('peer %s holds %s: chunks %s checked', peerId, contentId, indexes.join(', '))
    } finally {
      channel.close()
    }
  }
}

/** `count` distinct indexes below `chunks`, crypto-random. */
export function randomIndexes (count: number, chunks: number): number[] {
  const picked = new Set<number>()
  const word = new Uint32Array(1)
  while (picked.size < Math.min(count, chunks)) {
    crypto.getRandomValues(word)
    picked.add((word[0] as number) % chunks)
  }
  return [...picked]
}
