import { CONTENT_ID_PATTERN } from '@core/content/constants'
import type { ContentId } from '@core/content/manifest'
import { PROFILE_PATTERN } from '../peer/sw-protocol'
import { InvalidStreamPathError, StreamNotFoundError } from './errors'

/** What `/stream/<profile>/<contentId>` names. */
export interface StreamTarget {
  profile: string
  contentId: ContentId
}

const PREFIX = '/stream/'

/** The paths the service worker answers (everything else goes to the network). */
export function isStreamPath (pathname: string): boolean {
  return pathname === '/stream' || pathname.startsWith(PREFIX)
}

/**
 * Parse a path under `/stream/`. Throws StreamNotFoundError (404) for any
 * other shape, InvalidStreamPathError (400) for a profile or content id that
 * is not one.
 */
export function parseStreamPath (pathname: string): StreamTarget {
  const parts = pathname.startsWith(PREFIX) ? pathname.slice(PREFIX.length).split('/') : []
  if (parts.length !== 2 || parts.some(p => p === '')) {
    throw new StreamNotFoundError(`No stream at ${pathname.slice(0, 200)}: streams are /stream/<profile>/<contentId>`)
  }
  const [profile, contentId] = parts as [string, string]
  if (!PROFILE_PATTERN.test(profile)) throw new InvalidStreamPathError(`Invalid profile "${profile.slice(0, 20)}": profiles are p0, p1, …`)
  if (!CONTENT_ID_PATTERN.test(contentId)) throw new InvalidStreamPathError('Invalid content id: 64 lower-case hex characters')
  return { profile, contentId }
}
