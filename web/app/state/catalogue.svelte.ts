import * as z from 'zod/mini'

const entrySchema = z.object({
  filename: z.string(),
  title: z.string(),
  size: z.number(),
  mime: z.string(),
  contentId: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  chunks: z.number(),
  duration: z.optional(z.number()),
  /** Present when the relay holds the bytes. */
  url: z.optional(z.string().check(z.startsWith('/videos/'))),
  origin: z._default(z.boolean(), true),
  /** `library`, `browser` (published from one), `relay` (another relay's library), or what a newer relay says. */
  source: z._default(z.string(), 'library'),
  /** For `source: 'relay'`: that relay's peer id. */
  relay: z.optional(z.string()),
  peers: z._default(z.number(), 0),
  seeders: z._default(z.number(), 0)
})
export type Entry = z.infer<typeof entrySchema>

/** A relay holds all of it: this one (`origin`) or another relay of the network, whose library it is in. */
export function seeded (entry: Pick<Entry, 'origin' | 'source'>): boolean {
  return entry.origin || entry.source === 'relay'
}
const listSchema = z.array(entrySchema)

export type CatalogueStatus = 'loading' | 'ready' | 'offline'

/**
 * The relay's catalogue: `GET /list`, then kept current by `GET /events`
 * (Server-Sent Events, one `catalogue` event with the whole list per
 * change). When the relay goes away the last list stays on screen and the
 * status says so; the browser's EventSource reconnects by itself.
 */
export class Catalogue {
  entries = $state.raw<Entry[]>([])
  status = $state<CatalogueStatus>('loading')
  error = $state<string | undefined>(undefined)
  private events?: EventSource

  constructor (private readonly origin: string) {}

  async load (): Promise<void> {
    try {
      const response = await fetch(`${this.origin}/list`, { signal: AbortSignal.timeout(10_000), cache: 'no-cache' })
      if (!response.ok) throw new Error(`it answered ${response.status}`)
      this.accept(await response.json())
    } catch (err) {
      this.status = 'offline'
      this.error = `The server cannot be reached right now (${(err as Error).message}). Videos you have already watched still play from this browser.`
    }
  }

  /** Live updates; `load()` first for the first list. */
  follow (): void {
    if (this.events != null || typeof EventSource === 'undefined') return
    const events = this.events = new EventSource(`${this.origin}/events`)
    events.addEventListener('catalogue', (e: MessageEvent) => {
      try {
        this.accept(JSON.parse(String(e.data)))
      } catch {}
    })
    events.addEventListener('error', () => {
      if (events.readyState !== EventSource.OPEN && this.status === 'ready') {
        this.status = 'offline'
        this.error = 'Lost the connection to the server: reconnecting… Videos you have already watched still play.'
      }
    })
  }

  stop (): void {
    this.events?.close()
    this.events = undefined
  }

  byId (contentId: string): Entry | undefined {
    return this.entries.find(e => e.contentId === contentId)
  }

  /** By content id or by filename (`?play=sample.mp4`). */
  find (nameOrId: string): Entry | undefined {
    return this.entries.find(e => e.contentId === nameOrId) ?? this.entries.find(e => e.filename === nameOrId)
  }

  private accept (body: unknown): void {
    const parsed = z.safeParse(listSchema, body)
    if (!parsed.success) {
      this.error = 'The server sent a catalogue this page does not understand: reload the page.'
      return
    }
    this.entries = parsed.data
    this.status = 'ready'
    this.error = undefined
  }
}
