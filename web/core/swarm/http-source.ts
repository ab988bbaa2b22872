import { chunkRange, type Manifest } from '../content/manifest'
import { anySignal, type AbortOptions } from '../util/abort'
import { HttpSourceError } from './errors'

export interface HttpChunkSourceInit {
  /** The origin, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string
  /** The catalogue filename: bytes come from `GET /videos/<filename>` with a Range. */
  filename: string
  timeoutMs?: number
  fetch?: typeof fetch
}

/**
 * The origin's HTTP fallback: one Range request per chunk. The bytes are
 * not trusted more than a peer's: the session stores them through
 * ChunkStore.putChunk, which checks the hash.
 */
export class HttpChunkSource {
  readonly url: string
  private readonly timeoutMs: number
  private readonly fetch: typeof fetch

  constructor (init: HttpChunkSourceInit) {
    this.url = `${init.baseUrl.replace(/\/$/, '')}/videos/${encodeURIComponent(init.filename)}`
    this.timeoutMs = init.timeoutMs ?? 15_000
    this.fetch = init.fetch ?? globalThis.fetch.bind(globalThis)
  }

  async getChunk (manifest: Manifest, index: number, options?: AbortOptions): Promise<Uint8Array> {
    const { start, end } = chunkRange(manifest, index)
    const signal = anySignal(options?.signal, AbortSignal.timeout(this.timeoutMs))
    let response: Response
    try {
      response = await this.fetch(this.url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal })
    } catch (err: any) {
      throw new HttpSourceError(`GET ${this.url} failed: ${err?.message ?? err}`)
    }
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => {})
      throw new HttpSourceError(`GET ${this.url} answered ${response.status}, expected 206`)
    }
    const data = new Uint8Array(await response.arrayBuffer())
    if (data.byteLength !== end - start) throw new HttpSourceError(`GET ${this.url} sent ${data.byteLength} bytes, expected ${end - start}`)
    return data
  }
}
