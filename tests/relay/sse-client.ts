/** One Server-Sent Events block: an event (with its name and data) or a comment. */
export type SseItem = { kind: 'event', event: string, data: string } | { kind: 'comment', text: string }

export interface SseClient {
  response: Response
  /** The next block, in order; undefined once the stream ended. */
  next(): Promise<SseItem | undefined>
  /** Read blocks until an event named `event` whose JSON data satisfies `accept` (all of them by default). */
  until<T>(event: string, accept?: (data: T) => boolean): Promise<T>
  /** Read blocks until a comment. */
  comment(): Promise<string>
  close(): void
}

/** A minimal EventSource over fetch, reading the stream block by block (no reconnection). */
export async function openEvents (url: string): Promise<SseClient> {
  const controller = new AbortController()
  const response = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } })
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  let ended = false

  async function block (): Promise<string | undefined> {
    for (;;) {
      const end = buffer.indexOf('\n\n')
      if (end >= 0) {
        const text = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        return text
      }
      if (ended) return undefined
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }))
      if (done) ended = true
      else buffer += value
    }
  }

  async function next (): Promise<SseItem | undefined> {
    for (;;) {
      const text = await block()
      if (text == null) return undefined
      let event = 'message'
      const data: string[] = []
      const comments: string[] = []
      for (const line of text.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim())
        else if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      }
      if (data.length > 0) return { kind: 'event', event, data: data.join('\n') }
      if (comments.length > 0) return { kind: 'comment', text: comments.join('\n') }
      // a block with only `retry:`: nothing to hand out
    }
  }

  return {
    response,
    next,
    async until<T> (name: string, accept: (data: T) => boolean = () => true): Promise<T> {
      for (;;) {
        const item = await next()
        if (item == null) throw new Error(`the stream ended before a matching "${name}" event`)
        if (item.kind !== 'event' || item.event !== name) continue
        const data = JSON.parse(item.data) as T
        if (accept(data)) return data
      }
    },
    async comment (): Promise<string> {
      for (;;) {
        const item = await next()
        if (item == null) throw new Error('the stream ended before a comment')
        if (item.kind === 'comment') return item.text
      }
    },
    close () { controller.abort() }
  }
}
