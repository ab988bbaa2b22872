import type { RequestId } from './schema'

/**
 * The contract's response envelope: `{ success, data, timestamp }` or
 * `{ success: false, error, timestamp }`, `timestamp` ISO 8601 UTC with
 * milliseconds; `id` echoed when the request had one.
 */
export type Reply =
  | { success: true, data: unknown, timestamp: string, id?: RequestId }
  | { success: false, error: string, timestamp: string, id?: RequestId }

export function success (data: unknown, id?: RequestId): Reply {
  return { success: true, data: data ?? null, timestamp: new Date().toISOString(), ...(id !== undefined ? { id } : {}) }
}

export function failure (error: string, id?: RequestId): Reply {
  return { success: false, error, timestamp: new Date().toISOString(), ...(id !== undefined ? { id } : {}) }
}

/** One object per line: JSON escapes every newline inside strings, so a line is a message. */
export function toLine (value: unknown): string {
  return `${JSON.stringify(value)}\n`
}
