import { createHash } from 'node:crypto'
import { useSha256 } from '@core/util/sha256'

/**
 * The core's SHA-256 through node:crypto in this process: synchronous, on
 * the bytes as they are. WebCrypto's digest copies its input and waits for a
 * libuv thread per call; per 256 KiB chunk that was 7 % of the bridge's CPU
 * while it downloaded (a --cpu-prof of a 256 MiB download: `jobPromise`).
 * The bridge and the relay install it when they are created.
 */
export function useNodeSha256 (): void {
  useSha256(data => createHash('sha256').update(data).digest())
}
