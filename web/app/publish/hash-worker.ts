/// <reference lib="webworker" />
/**
 * The hashing half of publishing, in a dedicated module worker started by
 * hasher.ts: one request (a File and how to read it), then progress messages
 * and one `done` (the chunk hashes, raw, 32 bytes each, transferred) or one
 * `error`. The page terminates the worker when it has its answer or gives up.
 *
 * The file is read `readSize` bytes at a time (several chunks per read: one
 * read per chunk costs more than the hashing), through the Blob's byte stream
 * into one reused buffer, or through `file.slice().arrayBuffer()`; at most
 * `inFlight` SHA-256 digests are outstanding. Memory: one or two reads and the
 * digests' copies of their chunks, whatever the file's size (plus the hashes,
 * 32 B per chunk).
 */
import * as z from 'zod/mini'
import type { HashReply } from './hasher'

declare const self: DedicatedWorkerGlobalScope

const positiveInt = z.int().check(z.minimum(1))

const requestSchema = z.strictObject({
  type: z.literal('hash'),
  file: z.instanceof(Blob),
  chunkSize: positiveInt,
  /** Bytes per read: a multiple of chunkSize. */
  readSize: positiveInt,
  inFlight: positiveInt,
  reader: z.enum(['stream', 'slice']),
  /** With `reader: 'slice'`: start the next read before this one is hashed. */
  readAhead: z.boolean()
}).check(z.refine(r => r.readSize % r.chunkSize === 0, 'readSize is not a multiple of chunkSize'))

/** What the page posts to start the work. */
export type HashRequest = z.infer<typeof requestSchema>

/** Progress is posted at most this often (and once more with the answer). */
const PROGRESS_INTERVAL_MS = 100

function post (reply: HashReply, transfer: Transferable[] = []): void {
  self.postMessage(reply, transfer)
}

/** The chunk hashes of `file`, concatenated. Reports progress through `post`. */
async function hashChunks (request: HashRequest): Promise<Uint8Array<ArrayBuffer>> {
  const { file, chunkSize, inFlight } = request
  const hashes = new Uint8Array(Math.ceil(file.size / chunkSize) * 32)
  /** Digests started and not yet collected, oldest first, with their chunk's length. */
  const pending: Array<{ digest: Promise<ArrayBuffer>, length: number }> = []
  let collected = 0
  let bytesHashed = 0
  let lastPost = performance.now()

  const collect = async (): Promise<void> => {
    const { digest, length } = pending.shift()!
    hashes.set(new Uint8Array(await digest), collected * 32)
    collected++
    bytesHashed += length
    const now = performance.now()
    if (now - lastPost >= PROGRESS_INTERVAL_MS) {
      lastPost = now
      post({ type: 'progress', bytesHashed })
    }
  }

  let read = 0
  for await (const piece of readOrSay(pieces(request))) {
    read += piece.byteLength
    if (read > file.size) throw new Error(`the file changed while it was read (more than its ${file.size} bytes)`)
    for (let at = 0; at < piece.byteLength; at += chunkSize) {
      const chunk = piece.subarray(at, at + chunkSize)
      // digest() copies its input before it returns: the piece's buffer may be reused at once
      pending.push({ digest: crypto.subtle.digest('SHA-256', chunk), length: chunk.byteLength })
      if (pending.length >= inFlight) await collect()
    }
  }
  if (read !== file.size) throw new Error(`the file changed while it was read (${read} bytes of ${file.size})`)
  while (pending.length > 0) await collect()
  post({ type: 'progress', bytesHashed })
  return hashes
}

/** The pieces, a failure to read them said in words (Chromium's own is "network error" or a NotReadableError). */
async function * readOrSay (pieces: AsyncGenerator<Uint8Array<ArrayBuffer>>): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  try {
    yield * pieces
  } catch (err) {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    const read = new Error(`the file could not be read: it was changed, moved or deleted since it was picked, or cannot be accessed (${reason})`)
    read.name = 'FileReadError'
    throw read
  }
}

/**
 * The file in order, in pieces of whole chunks (but the last), each valid
 * until the next is asked for. With `reader: 'stream'`, one buffer of
 * `readSize` filled again and again by a BYOB reader (no allocation per read);
 * with `'slice'` (or where Blob streams have no BYOB reader), a new
 * ArrayBuffer per `file.slice().arrayBuffer()`, the next one read ahead.
 */
async function * pieces ({ file, readSize, reader, readAhead }: HashRequest): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  if (reader === 'stream') {
    let byob: ReadableStreamBYOBReader | undefined
    try {
      byob = file.stream().getReader({ mode: 'byob' })
    } catch {}
    if (byob != null) {
      yield * streamPieces(byob, readSize)
      return
    }
  }
  const read = (start: number): Promise<ArrayBuffer> => {
    const end = Math.min(file.size, start + readSize)
    const bytes = file.slice(start, end).arrayBuffer().then(buf => {
      if (buf.byteLength !== end - start) throw new Error(`the file changed while it was read (bytes ${start}–${end} gave ${buf.byteLength})`)
      return buf
    })
    bytes.catch(() => {}) // awaited later; not an unhandled rejection meanwhile
    return bytes
  }
  let next: Promise<ArrayBuffer> | undefined = read(0)
  for (let offset = 0; next != null;) {
    const buf: ArrayBuffer = await next
    offset += buf.byteLength
    next = readAhead && offset < file.size ? read(offset) : undefined
    yield new Uint8Array(buf)
    if (!readAhead && offset < file.size) next = read(offset)
  }
}

async function * streamPieces (reader: ReadableStreamBYOBReader, readSize: number): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  let buffer = new ArrayBuffer(readSize)
  let filled = 0
  try {
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer, filled, readSize - filled))
      if (value != null) {
        buffer = value.buffer as ArrayBuffer // the read transferred it
        filled += value.byteLength
      }
      if (filled === readSize || (done && filled > 0)) {
        yield new Uint8Array(buffer, 0, filled)
        filled = 0
      }
      if (done) return
    }
  } finally {
    reader.releaseLock()
  }
}

self.onmessage = (event: MessageEvent<unknown>) => {
  const request = requestSchema.safeParse(event.data)
  if (!request.success) {
    post({ type: 'error', name: 'HashWorkerError', message: `The hashing worker got a malformed request: ${request.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` })
    return
  }
  hashChunks(request.data).then(hashes => {
    post({ type: 'done', size: request.data.file.size, hashes }, [hashes.buffer])
  }, (err: unknown) => {
    post({ type: 'error', name: (err as Error)?.name ?? 'Error', message: (err as Error)?.message ?? String(err) })
  })
}
