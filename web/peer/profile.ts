import { NoFreeProfileError } from './errors'

export interface Profile {
  /** `p0`, `p1`, …: names the IndexedDB database, the identity and the settings. */
  name: string
  /** Give the profile back (closing the tab does it too). */
  release(): void
}

/**
 * One tab = one peer: a tab takes the first profile whose Web Lock is free
 * and holds it while it lives, so two tabs are two peers with two
 * identities and two databases, and a reloaded tab gets its profile back
 * (the lowest free one: its own, released on unload).
 */
export async function acquireProfile (options: { max?: number, locks?: LockManager } = {}): Promise<Profile> {
  const locks = options.locks ?? navigator.locks
  const max = options.max ?? 64
  for (let i = 0; i < max; i++) {
    const name = `p${i}`
    const release = await new Promise<(() => void) | undefined>((resolve, reject) => {
      locks.request(`pipbingo-profile-${name}`, { ifAvailable: true }, async lock => {
        if (lock == null) {
          resolve(undefined)
          return
        }
        // hold the lock until release() (or until the tab goes away)
        await new Promise<void>(done => { resolve(done) })
      }).catch(reject)
    })
    if (release != null) return { name, release }
  }
  throw new NoFreeProfileError()
}
