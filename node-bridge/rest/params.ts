import { z } from 'zod'
import { checkFilename } from '@core/content/filename'
import { BadRequestError } from './errors'

/**
 * A `:filename` route parameter, percent-decoded once by the router (so
 * `%2e%2e%2f` arrives as `../` and is refused here); a parameter that does
 * not decode is a 400 from the router itself.
 */
export function filenameParam (value: unknown): string {
  let name: string
  try {
    name = checkFilename(value)
  } catch (err) {
    throw new BadRequestError((err as Error).message)
  }
  // a label with percent escapes is allowed, unless decoding them once more
  // gives a name that is not (`%2e%2e%2f` in a body, `%252e%252e%252f` in a URL)
  if (name.includes('%')) {
    let decoded: string | undefined
    try { decoded = decodeURIComponent(name) } catch {}
    if (decoded != null && decoded !== name) {
      try {
        checkFilename(decoded)
      } catch (err) {
        throw new BadRequestError(`${(err as Error).message} (once percent-decoded)`)
      }
    }
  }
  return name
}

/** `POST /download`: `{"filename": "..."}` and nothing else. */
export const downloadBodySchema = z.strictObject({
  filename: z.string().max(4096)
})

/** Parse with a schema; failures are 400s that say which field. */
export function parseOrBadRequest<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new BadRequestError(`Invalid ${what}: ${issues}`)
}
