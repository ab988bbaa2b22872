import type { AbortOptions } from '../../util/abort'

/** Peers of one name dialled at most, and how long their HELLOs are awaited. */
export const LOOKUP_MAX_PEERS = 5
export const LOOKUP_HELLO_MS = 5_000

/** Peers found by name, and a way to reach them (see routing/names.ts, nameKey). */
export interface NameLookup {
  /** Peers that registered `name`, with their addresses (this node excluded). */
  find(name: string, options?: AbortOptions): Promise<Array<{ peerId: string, addrs: string[] }>>
  /** Connect to a peer; the chat protocol then exchanges HELLOs. */
  connect(peerId: string, addrs: string[], options?: AbortOptions): Promise<void>
}

/** What the chat knows of HELLOs, for a lookup to wait on them. */
export interface Greetings {
  /** Whether this peer said HELLO on a connection still open. */
  greeted(peerId: string): boolean
  /** `wake` is called after each HELLO, until the function returned is. */
  onHello(wake: () => void): () => void
  log(format: string, ...args: unknown[]): void
}

/**
 * Look a name up on the network, as bridges and tabs both do: dial the
 * peers that registered it with the relay's tracker (LOOKUP_MAX_PEERS at
 * most) and wait for their HELLOs (LOOKUP_HELLO_MS at most, less once all
 * of them said it, or when `options.signal` aborts). A name is a claim: what
 * a peer's HELLO says, not what it registered, so the caller resolves the
 * name among the peers that said HELLO afterwards. Resolves with how many
 * peers had registered it (0: nobody, or the tracker did not answer).
 */
export async function lookUpName (name: string, lookup: NameLookup, greetings: Greetings, options?: AbortOptions): Promise<number> {
  const found = (await lookup.find(name, options).catch((err: any) => {
    greetings.log('name lookup of %s failed: %s', name, err?.message ?? err)
    return []
  })).slice(0, LOOKUP_MAX_PEERS)
  if (found.length === 0) return 0
  let wake = (): void => {}
  let done = (): void => {}
  let timer: ReturnType<typeof setTimeout> | undefined
  const hellos = new Promise<void>(resolve => {
    done = resolve
    timer = setTimeout(resolve, LOOKUP_HELLO_MS)
    wake = () => { if (found.every(p => greetings.greeted(p.peerId))) resolve() }
  })
  options?.signal?.addEventListener('abort', done, { once: true })
  const stop = greetings.onHello(() => { wake() })
  try {
    await Promise.all(found.map(async p => {
      await lookup.connect(p.peerId, p.addrs, options).catch((err: any) => {
        greetings.log('dialling %s (registered %s) failed: %s', p.peerId, name, err?.message ?? err)
      })
    }))
    wake()
    await hellos
  } finally {
    clearTimeout(timer)
    options?.signal?.removeEventListener('abort', done)
    stop()
  }
  return found.length
}
