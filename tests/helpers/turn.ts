import { execFile } from 'node:child_process'

/**
 * base64(HMAC-SHA1(secret, username)) computed by OpenSSL in a child
 * process: what coturn checks a TURN REST API credential against, from
 * code that is not ours.
 */
export async function opensslTurnCredential (secret: string, username: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = execFile('openssl', ['dgst', '-sha1', '-hmac', secret, '-binary'], { encoding: 'buffer' }, (err, stdout) => {
      if (err != null) reject(new Error(`openssl dgst -sha1 -hmac failed (is openssl installed?): ${err.message}`))
      else resolve(stdout.toString('base64'))
    })
    child.stdin?.end(username)
  })
}

/** The expiry (unix seconds) a TURN REST API username starts with. */
export function usernameExpiry (username: string): number {
  const match = /^(\d+):[^:]+$/.exec(username)
  if (match == null) throw new Error(`not a TURN REST API username (<unix expiry>:<id>): ${username}`)
  return Number(match[1])
}
