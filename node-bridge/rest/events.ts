import type { RequestHandler } from 'express'
import { CHUNK_LINES_PER_SECOND } from '../downloads/console-log'
import { on } from '../downloads/events'
import type { DownloadManager } from '../downloads/manager'
import { Throttle } from '../downloads/throttle'

const HEARTBEAT_MS = 15_000

/**
 * `GET /events`: server-sent events, so a UI need not poll.
 * - `snapshot`: first, the whole of `GET /status`;
 * - `state`: `{ from, to, status, resumed }` on every change of state;
 * - `progress`: a `/status` entry, at most 4 per second per download (the
 *   last chunk always, and the latest one held back is sent when its
 *   interval ends).
 * A comment line every 15 s keeps proxies from closing the stream.
 */
export function eventsHandler (deps: { manager: DownloadManager }): RequestHandler {
  return (req, res) => {
    res.status(200)
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('Connection', 'keep-alive')
    res.setHeader('X-Accel-Buffering', 'no')
    res.flushHeaders()
    req.socket.setNoDelay(true)
    const send = (event: string, data: unknown): void => {
      if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    res.write('retry: 2000\n\n')
    send('snapshot', deps.manager.status())
    const throttle = new Throttle(1000 / CHUNK_LINES_PER_SECOND)
    const offState = on(deps.manager, 'state', detail => {
      if (detail.from === 'downloading') throttle.forget(detail.status.filename) // no stale progress after the end
      send('state', detail)
    })
    const offProgress = on(deps.manager, 'progress', ({ status }) => {
      throttle.run(status.filename, () => { send('progress', status) }, status.chunks_downloaded === status.chunks_total)
    })
    const heartbeat = setInterval(() => { if (!res.destroyed) res.write(': ping\n\n') }, HEARTBEAT_MS)
    res.once('close', () => {
      clearInterval(heartbeat)
      offState()
      offProgress()
      throttle.close()
    })
  }
}
