type Sha256 = (data: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** WebCrypto's: every runtime has it (the browser, the service worker, Node). */
const webCrypto: Sha256 = async data => new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))

let implementation: Sha256 = webCrypto

/**
 * SHA-256 of `data`: the core's one hash, WebCrypto's unless the runtime
 * installed a cheaper one with useSha256() (Node: node-bridge/sha256.ts).
 * `data` is not kept, and an installed implementation must not keep it.
 */
export async function sha256 (data: Uint8Array): Promise<Uint8Array> {
  return await implementation(data)
}

/** Install the runtime's cheapest SHA-256, for every caller of sha256() in this process. */
export function useSha256 (fn: Sha256): void {
  implementation = fn
}
