import type { ContentId } from '../content/manifest'
import { toHex } from '../util/hex'
import { sha256 } from '../util/sha256'

/**
 * The key under which a chat peer registers its display name with the
 * tracker (a relay's, and any ContentLocator): the SHA-256 of a prefix and
 * the name in NFC, so it lives in the content-id namespace, with the
 * tracker's limits, and no content id is one by chance. A lookup gives the
 * peers that registered the name; what each calls itself is then checked
 * in its HELLO, so a peer that registers a name it does not announce
 * gains nothing.
 */
export async function nameKey (name: string): Promise<ContentId> {
  return toHex(await sha256(new TextEncoder().encode(`pipbingo/name/1\u0000${name.normalize('NFC')}`))) as ContentId
}
