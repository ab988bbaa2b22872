import type { ChunkEvent } from '@core/swarm/session'
import type { DownloadState } from './states'
import type { DownloadStatus } from './status'

/** A download changed state. */
export interface StateEventDetail {
  from: DownloadState | null
  to: DownloadState
  status: DownloadStatus
  /** A download resumed from chunks already in the cache. */
  resumed: boolean
}

/** A verified chunk was stored. */
export interface ProgressEventDetail {
  chunk: ChunkEvent
  status: DownloadStatus
}

export interface DownloadEventMap {
  state: StateEventDetail
  progress: ProgressEventDetail
}

export type DownloadEventType = keyof DownloadEventMap

/** Listen to a typed event of an EventTarget; returns the function that stops listening. */
export function on<K extends DownloadEventType> (target: EventTarget, type: K, listener: (detail: DownloadEventMap[K]) => void): () => void {
  const wrapped = (e: Event): void => { listener((e as CustomEvent<DownloadEventMap[K]>).detail) }
  target.addEventListener(type, wrapped)
  return () => { target.removeEventListener(type, wrapped) }
}
