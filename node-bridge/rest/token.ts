import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../contacts/atomic-file'

/** The header a page's mutating requests carry (a custom header: the browser asks the bridge first, in a CORS preflight). */
export const TOKEN_HEADER = 'X-Pipbingo-Token'

/**
 * The bridge's per-install API token, `dataDir/api-token` (owner-only),
 * created on first start. Pages of the allowed origins read it with
 * `GET /token` (CORS lets no other page read the answer, and the bridge
 * refuses to answer one); a browser's POST or DELETE without it is
 * refused. Local programs send no `Origin` and need none: they could read
 * the file anyway.
 */
export async function loadOrCreateApiToken (dataDir: string): Promise<string> {
  const path = join(dataDir, 'api-token')
  try {
    const token = (await readFile(path, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(token)) return token
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw err
  }
  const token = randomBytes(32).toString('hex')
  await mkdir(dataDir, { recursive: true })
  await writeFileAtomic(path, `${token}\n`)
  return token
}

/** Constant-time comparison of a token a request carries with the bridge's. */
export function tokenMatches (given: string | undefined, token: string): boolean {
  if (given == null) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
