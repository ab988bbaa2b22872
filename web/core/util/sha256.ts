/** SHA-256 through WebCrypto: the same code in the browser, the service worker and Node. */
export async function sha256 (data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
