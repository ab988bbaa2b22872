import { z } from 'zod'
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '@core/protocols/chat/constants'
import { NOTICE_NAMES } from '../chat/events'

/**
 * Every request of the contract (docs/contracts/ipc-8889.md), as one zod
 * discriminated union on `command`, then on `action`. `data` objects are
 * strict: an unknown field is an error, not silently ignored. Besides the
 * contract: `id` (echoed), `status subscribe` / `status unsubscribe`.
 */
const peer = z.string().min(1, 'must not be empty').max(256)
const key = z.string().min(1, 'must not be empty').max(16 * 1024)
/** A contact's public key, base64: X-Wing's is 1,624 characters, ML-KEM-768's 1,580; the contract's placeholders are shorter. */
const publicKey = z.string().min(1, 'must not be empty').max(4096)
/** `null`, `{}` or absent. */
const none = z.union([z.null(), z.strictObject({})])

const request = <C extends string, A extends string | null, D extends z.ZodType>(command: C, action: A, data: D) =>
  z.object({ command: z.literal(command), action: action === null ? z.null() : z.literal(action as Exclude<A, null>), data })

export const requestSchema = z.discriminatedUnion('command', [
  z.discriminatedUnion('action', [
    request('p2p', 'start', z.union([z.null(), z.strictObject({
      stun_urls: z.array(z.string().max(512).regex(/^(stun|stuns|turn|turns):\S+$/, 'expected a stun: or turn: URL')).max(16).optional()
    })])),
    request('p2p', 'stop', none),
    request('p2p', 'peers', none),
    request('p2p', 'send_message', z.strictObject({ peer, message: z.string().min(1, 'must not be empty').max(256 * 1024) })),
    request('p2p', 'send_file', z.strictObject({
      peer,
      file_path: z.string().min(1, 'must not be empty').max(4096),
      chunk_size: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE).optional()
    }))
  ]),
  z.discriminatedUnion('action', [
    request('contacts', 'list', none),
    request('contacts', 'add', z.strictObject({ peer, public_key: publicKey })),
    request('contacts', 'remove', z.strictObject({ peer })),
    request('contacts', 'negotiate_keys', z.strictObject({ peer }))
  ]),
  z.discriminatedUnion('action', [
    request('crypto', 'generate_keypair', none),
    request('crypto', 'encrypt', z.strictObject({ message: z.string().max(256 * 1024), public_key: key })),
    request('crypto', 'decrypt', z.strictObject({ encrypted_data: z.string().min(1, 'must not be empty').max(512 * 1024), private_key: key }))
  ]),
  z.discriminatedUnion('action', [
    request('status', null, none),
    request('status', 'subscribe', z.union([z.null(), z.strictObject({ events: z.array(z.enum(NOTICE_NAMES)).min(1).optional() })])),
    request('status', 'unsubscribe', none)
  ])
])

export type IpcRequest = z.infer<typeof requestSchema>
export type IpcCommand = IpcRequest['command']

/** A request id a client may add; echoed in the response. */
const idSchema = z.union([z.string().max(128), z.number().int().min(-(2 ** 53)).max(2 ** 53)])
export type RequestId = z.infer<typeof idSchema>

export type Parsed =
  | { ok: true, request: IpcRequest, id?: RequestId }
  | { ok: false, error: string, id?: RequestId }

/** No request of the contract nests deeper than 3; past this a line is refused before anything walks it. */
export const MAX_JSON_DEPTH = 16

/**
 * How deep `text`'s arrays and objects nest, stopping once past `limit`.
 * One pass, no recursion: it runs before `JSON.parse`, so that nothing
 * recursive (zod, `JSON.stringify` in an error message) ever meets a
 * 5,000-deep structure from a client.
 */
export function jsonDepthExceeds (text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

/** One line from a client → a request, or the precise reason it is not one. */
export function parseRequest (line: string): Parsed {
  if (jsonDepthExceeds(line, MAX_JSON_DEPTH)) return { ok: false, error: `Invalid request: nested deeper than ${MAX_JSON_DEPTH} levels` }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (err: any) {
    return { ok: false, error: `Invalid JSON: ${err?.message ?? 'cannot parse'}` }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'Invalid request: expected a JSON object {"command", "action", "data"}' }
  }
  const { id: rawId, ...rest } = value as Record<string, unknown>
  let id: RequestId | undefined
  if (rawId !== undefined) {
    const parsedId = idSchema.safeParse(rawId)
    if (!parsedId.success) return { ok: false, error: 'Invalid id: expected a string (at most 128 characters) or an integer' }
    id = parsedId.data
  }
  // "action" and "data" may be left out where they are null
  const normalized = { action: null, data: null, ...rest }
  const parsed = requestSchema.safeParse(normalized)
  if (parsed.success) return { ok: true, request: parsed.data, id }
  return { ok: false, error: describe(parsed.error.issues, normalized), id }
}

function describe (issues: z.core.$ZodIssue[], value: Record<string, unknown>): string {
  const first = issues[0]
  // a client's value, shown short: a 100 KB "command" must not come back whole
  const show = (v: unknown): string => {
    if (v === undefined) return 'missing'
    const text = JSON.stringify(v)
    return text.length > 64 ? `${text.slice(0, 61)}...` : text
  }
  if (first?.code === 'invalid_union' && first.path.length === 1) {
    const options = ((first as { options?: unknown[] }).options ?? []).map(o => String(o)).join(', ')
    if (first.path[0] === 'command') {
      return value.command === undefined ? `Missing command (expected one of: ${options})` : `Unknown command: ${show(value.command)} (expected one of: ${options})`
    }
    if (first.path[0] === 'action') return `Unknown action for ${String(value.command)}: ${show(value.action)} (expected one of: ${options})`
  }
  const what = `${String(value.command)} ${value.action === null ? '' : String(value.action)}`.trim()
  const details = issues.flatMap(specific).map(i => {
    const path = i.path.join('.') || '(request)'
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.map(k => JSON.stringify(k)).join(', ')}` : i.message.replace(/^Invalid input: /, '')
    return `${path}: ${message}`
  })
  return `Invalid request for ${what}: ${details.join('; ')}`
}

/**
 * `data` is often `null | {...}`: when neither fits, report what the object
 * branch says (e.g. `data.events.0: invalid option`) rather than a bare
 * "Invalid input" — unless the value was not an object at all.
 */
function specific (issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue]
  const branches = issue.errors.filter(b => b.length > 0 && !(b[0]?.code === 'invalid_type' && b[0]?.path.length === 0))
  if (branches.length !== 1) return [{ ...issue, message: 'expected null or an object of the documented fields' } as z.core.$ZodIssue]
  return (branches[0] as z.core.$ZodIssue[]).map(i => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue).flatMap(specific)
}
