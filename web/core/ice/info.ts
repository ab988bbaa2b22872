import { z } from 'zod'

/** One RTCIceServer, as RTCConfiguration takes it (and as the relay's `/info` gives it). */
export const iceServerSchema = z.strictObject({
  urls: z.union([z.string().min(1).max(512), z.array(z.string().min(1).max(512)).min(1).max(16)]),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional()
})

/**
 * The ICE part of the relay's `GET /info`: the STUN/TURN servers, and how
 * many seconds their TURN credentials live from the answer (null: none
 * expire). A relay from before issue 11 sends neither: no servers.
 */
export const relayIceSchema = z.object({
  iceServers: z.array(iceServerSchema).max(16).default([]),
  iceServersTtl: z.number().positive().nullable().default(null)
})

export type RelayIce = z.infer<typeof relayIceSchema>
