import type { UploadEvent } from '@core/protocols/chunk'

/** What identify tells of a tab: `pipbingo-tab/<version> (<display name>)`. */
const TAB_AGENT = /^pipbingo-tab\/[^ ]+ \((.*)\)$/
const MAX_NAME_LENGTH = 40

/** The user agent a tab announces through identify, carrying its display name. */
export function tabUserAgent (version: string, displayName: string): string {
  return `pipbingo-tab/${version} (${cleanName(displayName)})`
}

/** A display name as others will see it: one line, no brackets, at most 40 characters. */
export function cleanName (name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f()]/g, '').trim().slice(0, MAX_NAME_LENGTH)
}

/** A peer's display name from its identify agent, or what kind of node it is. */
export function nameFromAgent (agent: string | undefined): string | undefined {
  if (agent == null) return undefined
  const tab = TAB_AGENT.exec(agent)
  if (tab != null) return cleanName(tab[1] ?? '') || undefined
  if (agent.startsWith('pipbingo-bridge')) return 'bridge'
  if (agent.startsWith('pipbingo-relay')) return 'relay'
  return undefined
}

/**
 * What this tab knows about other peers beyond libp2p's connections: their
 * display names (from identify), the bytes it sent each one, and which
 * chunks of each content it has seeded to others (the chunk map shows them).
 */
export class PeerBook {
  private readonly names = new Map<string, string>()
  private readonly sentTo = new Map<string, number>()
  private readonly seeded = new Map<string, Set<number>>()

  identified (peer: string, agent: string | undefined): void {
    const name = nameFromAgent(agent)
    if (name != null) this.names.set(peer, name)
  }

  uploaded (event: UploadEvent): void {
    this.sentTo.set(event.peer, (this.sentTo.get(event.peer) ?? 0) + event.bytes)
    let chunks = this.seeded.get(event.contentId)
    if (chunks == null) this.seeded.set(event.contentId, chunks = new Set())
    chunks.add(event.index)
  }

  nameOf (peer: string): string | undefined {
    return this.names.get(peer)
  }

  bytesSentTo (peer: string): number {
    return this.sentTo.get(peer) ?? 0
  }

  seededChunks (contentId: string): ReadonlySet<number> {
    return this.seeded.get(contentId) ?? new Set()
  }

  forget (contentId: string): void {
    this.seeded.delete(contentId)
  }
}
