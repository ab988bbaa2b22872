import type { ChatNotice, ChatNoticeName } from '../chat/events'

type Listener = (notice: ChatNotice) => void

/**
 * Fans the chat's notices out to whoever subscribed: IPC connections that
 * asked (`status subscribe`) and WebSocket clients. A listener that throws
 * is logged by its owner, never by the others.
 */
export class EventHub {
  private readonly listeners = new Map<Listener, ReadonlySet<ChatNoticeName> | undefined>()

  get size (): number {
    return this.listeners.size
  }

  /** Listen to every notice, or only to `events`; returns the unsubscribe function. */
  subscribe (listener: Listener, events?: readonly ChatNoticeName[]): () => void {
    this.listeners.set(listener, events == null ? undefined : new Set(events))
    return () => { this.listeners.delete(listener) }
  }

  publish (notice: ChatNotice): void {
    for (const [listener, filter] of [...this.listeners]) {
      if (filter != null && !filter.has(notice.event)) continue
      try {
        listener(notice)
      } catch {}
    }
  }
}
