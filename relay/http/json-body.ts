import type { IncomingMessage } from 'node:http'
import { BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors'

/**
 * Read a JSON request body of at most `maxBytes`: a `Content-Length` past it
 * is refused before a byte is read, and a body without one is refused as
 * soon as it passes the cap (PayloadTooLargeError). Either way the rest is
 * never read: the caller answers with `Connection: close`. (body-parser
 * reads, and discards, the whole body before it says 413.)
 * Only `application/json` in UTF-8, without content coding (415).
 */
export async function readJsonBody (req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const [type = '', ...params] = (req.headers['content-type'] ?? '').split(';').map(p => p.trim().toLowerCase())
  if (type !== 'application/json') throw new UnsupportedMediaTypeError(`Send the manifest as application/json, not "${type || 'nothing'}"`)
  const charset = params.find(p => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '')
  if (charset != null && charset !== 'utf-8' && charset !== 'utf8') throw new UnsupportedMediaTypeError(`Send the manifest as UTF-8 JSON, not ${charset}`)
  const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  if (coding !== 'identity') throw new UnsupportedMediaTypeError(`Send the manifest without content coding, not "${coding}"`)
  const tooLarge = (): PayloadTooLargeError => new PayloadTooLargeError(`The request is larger than ${maxBytes / 1024 / 1024} MiB: this relay takes manifests up to that size`)
  const declared = req.headers['content-length']
  if (declared != null && Number(declared) > maxBytes) throw tooLarge()

  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const pieces: Buffer[] = []
    let length = 0
    const done = (err?: Error): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
      if (err != null) {
        req.pause()
        reject(err)
      } else resolve(Buffer.concat(pieces, length))
    }
    const onData = (piece: Buffer): void => {
      length += piece.byteLength
      if (length > maxBytes) done(tooLarge())
      else pieces.push(piece)
    }
    const onEnd = (): void => { done() }
    const onError = (err: Error): void => { done(new BadRequestError(`The request body could not be read: ${err.message}`)) }
    const onClose = (): void => { if (!req.readableEnded) done(new BadRequestError('The request body was cut off')) }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
    req.once('close', onClose)
  })
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new UnsupportedMediaTypeError('Send the manifest as UTF-8 JSON: the body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new BadRequestError(`The body is not valid JSON: ${(err as Error).message}`)
  }
}
