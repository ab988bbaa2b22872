import { z } from 'zod'
import { CONTENT_ID_PATTERN } from '@core/content/constants'
import { checkFilename } from '@core/content/filename'
import type { ContentId } from '@core/content/manifest'
import { BadRequestError } from './errors'

/**
 * Route parameters arrive percent-decoded once by the router (`..%2f` is
 * `../` here, and is refused); a name that does not decode is a 400 from the
 * router itself.
 */
export function filenameParam (value: unknown): string {
  try {
    return checkFilename(value)
  } catch (err) {
    throw new BadRequestError((err as Error).message)
  }
}

/** `/manifest/:filenameOrId`: 64 lower-case hex characters are a content id, anything else a filename. */
export function filenameOrIdParam (value: unknown): { contentId: ContentId } | { filename: string } {
  if (typeof value === 'string' && CONTENT_ID_PATTERN.test(value)) return { contentId: value }
  return { filename: filenameParam(value) }
}

const optionalName = z.string().max(1024).optional()

/** `POST /upload?name=...` (a repeated `name` is an array, refused). */
export const uploadQuerySchema = z.object({ name: optionalName }).loose()

/** The request headers the upload reads. */
export const uploadHeadersSchema = z.object({
  'content-type': z.string().max(1024).optional(),
  'content-length': z.string().regex(/^\d{1,16}$/, 'Content-Length is not a number').optional(),
  'x-filename': optionalName
}).loose()

/** Parse with a schema; failures are 400s that say which field. */
export function parseOrBadRequest<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = result.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
  throw new BadRequestError(`Invalid ${what}: ${issues}`)
}
