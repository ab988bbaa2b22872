import type { StoreNames } from 'idb'
import { QuotaExceededError } from './errors'
import type { StoreDatabase, StoreSchema, WriteTransaction } from './schema'

/**
 * Run `body` in one readwrite transaction and wait for the commit.
 *
 * `body` may await only IndexedDB requests of `tx` (an await of anything else —
 * crypto, a timer, a fetch — lets the transaction commit under it). When `body`
 * throws, the transaction is aborted, so nothing it wrote survives. An
 * IndexedDB QuotaExceededError, from a request or from the commit, becomes our
 * QuotaExceededError.
 */
export async function write<const S extends ArrayLike<StoreNames<StoreSchema>>, T> (
  db: StoreDatabase,
  stores: S,
  body: (tx: WriteTransaction<S>) => Promise<T>
): Promise<T> {
  const tx = db.transaction(stores, 'readwrite')
  // idb creates `done` with the transaction: observe it at once, or an abort is an unhandled rejection
  const done = tx.done
  done.catch(() => {})
  try {
    const result = await body(tx)
    await done
    return result
  } catch (err) {
    try {
      tx.abort()
    } catch {
      // already committed or aborted
    }
    throw mapQuotaError(err, tx.error)
  }
}

function mapQuotaError (err: unknown, txError: DOMException | null): unknown {
  if (err instanceof QuotaExceededError) return err
  if (isQuota(err) || isQuota(txError)) return new QuotaExceededError(undefined, { cause: isQuota(err) ? err : txError })
  return err
}

function isQuota (err: unknown): boolean {
  return err != null && (err as { name?: unknown }).name === 'QuotaExceededError'
}
