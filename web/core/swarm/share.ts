/**
 * Which chunks this session takes from the origin when other downloaders
 * are in the swarm: its **share**. Every member computes the same
 * partition from the member ids it knows — chunk `i` belongs to the member
 * with the highest score `h(member, i)` (rendezvous hashing) — so members
 * that know the same swarm ask the origin for disjoint parts and then trade
 * them: the origin sends each byte about once, as a BitTorrent super-seed
 * does, without the origin tracking anyone. Views differ while a crowd
 * arrives (the tracker lists a peer once it holds a chunk); rendezvous
 * hashing keeps a late member's arrival from reshuffling everyone else's
 * share (it takes about 1/n of each), and what falls between two views is
 * picked up by the session's idle fallback (session.ts).
 */

/** The chunks of `chunkCount` whose owner among `members` (which includes `self`) is `self`. */
export function originShare (self: string, members: Iterable<string>, chunkCount: number): Uint8Array {
  const seeds = [...new Set([self, ...members])].map(seed)
  const mine = seed(self)
  const out = new Uint8Array(chunkCount)
  for (let i = 0; i < chunkCount; i++) {
    const own = score(mine, i)
    let best = true
    for (const m of seeds) {
      if (m === mine) continue
      const other = score(m, i)
      // ties (two ids with one seed) go to the larger seed: the same answer everywhere
      if (other > own || (other === own && m > mine)) { best = false; break }
    }
    if (best) out[i] = 1
  }
  return out
}

/** FNV-1a of the id: the member's seed. */
function seed (id: string): number {
  let h = 0x811c9dc5
  for (let k = 0; k < id.length; k++) {
    h ^= id.charCodeAt(k)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The member's score for chunk `i`: murmur3's finaliser over seed and index. */
function score (memberSeed: number, i: number): number {
  let h = (memberSeed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
