/**
 * What the chat layer tells IPC clients, already in the contract's event
 * shape `{ "event": ..., "data": {...} }`. `p2p_message_received` is the
 * seed's, its `data` exactly `{ peer, message, timestamp }`; what else is
 * known about the message travels beside it in `meta`.
 */
export type ChatNotice =
  | { event: 'p2p_message_received', data: { peer: string, message: string, timestamp: string }, meta: { peer_id: string, id: string, encrypted: boolean } }
  | { event: 'file_progress', data: { peer: string, peer_id: string, transfer_id: string, file_name: string, direction: 'in' | 'out', bytes: number, total: number, percent: number, timestamp: string } }
  | { event: 'file_received', data: { peer: string, peer_id: string, transfer_id: string, file_name: string, saved_as: string, path: string | null, size: number, sha256: string, encrypted: boolean, timestamp: string } }
  | { event: 'file_failed', data: { peer: string, peer_id: string, transfer_id: string, file_name: string, direction: 'in' | 'out', error: string, timestamp: string } }
  | { event: 'peer_joined', data: { peer: string, peer_id: string, timestamp: string } }
  | { event: 'peer_left', data: { peer: string, peer_id: string, timestamp: string } }
  | { event: 'keys_negotiated', data: { peer: string, peer_id: string, fingerprint: string, initiator: boolean, timestamp: string } }
  | { event: 'p2p_status', data: { running: boolean, timestamp: string } }

export type ChatNoticeName = ChatNotice['event']

export const NOTICE_NAMES: readonly ChatNoticeName[] = [
  'p2p_message_received', 'file_progress', 'file_received', 'file_failed', 'peer_joined', 'peer_left', 'keys_negotiated', 'p2p_status'
]
