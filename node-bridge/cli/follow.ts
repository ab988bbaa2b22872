import type { DownloadStatus } from '../downloads/status'
import type { ApiClient, StatusMap } from './client'
import { isFinal, type ProgressView } from './progress'
import { readEvents } from './sse'

export interface FollowOptions {
  /** Only these downloads (default: every one that is not final yet when following starts). */
  names?: string[]
  pollMs?: number
  signal?: AbortSignal
}

/**
 * Draw the progress of downloads until each one is final (seeding, failed
 * or cancelled): from `GET /events`, or by polling `GET /status` when the
 * event stream is not available. Resolves with their last statuses.
 */
export async function follow (client: ApiClient, view: ProgressView, options: FollowOptions = {}): Promise<StatusMap> {
  const last: StatusMap = {}
  let names = options.names
  const done = (): boolean => names != null && names.every(n => last[n] != null && isFinal(last[n]))
  const see = (s: DownloadStatus): void => {
    if (names != null && !names.includes(s.filename)) return
    last[s.filename] = s
    view.update(s)
  }
  const seeAll = (map: StatusMap): void => {
    names ??= Object.values(map).filter(s => !isFinal(s)).map(s => s.filename)
    for (const s of Object.values(map)) see(s)
  }

  const controller = new AbortController()
  const signal = options.signal == null ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  try {
    const response = await client.events(signal)
    for await (const { event, data } of readEvents(response.body!)) {
      const parsed = JSON.parse(data)
      if (event === 'snapshot') seeAll(parsed as StatusMap)
      else if (event === 'state') see(parsed.status as DownloadStatus)
      else if (event === 'progress') see(parsed as DownloadStatus)
      if (done()) return last
    }
  } catch (err: any) {
    if (options.signal?.aborted === true) throw err
    // no event stream: poll instead
  } finally {
    controller.abort()
  }
  for (;;) {
    seeAll(await client.status())
    if (done()) return last
    await new Promise(resolve => setTimeout(resolve, options.pollMs ?? 500))
  }
}
