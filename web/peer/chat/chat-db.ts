import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import type { DirectionKeys } from '@core/protocols/chat/session-keys'

/**
 * A profile's chat, in an IndexedDB database of its own
 * (`pipbingo-chat-<profile>`), apart from the chunk store so that clearing
 * the video cache never loses a conversation or a key:
 *
 * - `identity`: the KEM key pair (`kem`), made on first use. The secret is
 *   the X-Wing seed as bytes: @noble/post-quantum computes in JavaScript, so
 *   WebCrypto cannot hold it as a non-extractable key.
 * - `contacts`: by peer id, the pinned public key (the first one a
 *   negotiation used), the session's two direction keys as non-extractable
 *   CryptoKeys (the session key itself is not kept), and a key the peer
 *   announced since that is not the pinned one.
 * - `messages`: the history, in the order it happened (an auto-increment
 *   key), indexed by peer and (v2) by state. A file is a message with `file` set.
 * - `files`: the bytes of each file received, a Blob under its message's
 *   `seq` (this tab's key, not the sender's transfer id), offered for
 *   download from the conversation, until the conversation is deleted
 *   (TabChat.deleteConversation: its messages and files, not the contact).
 * - `pieces` (v2): a file being received, a Blob of about PIECE_BYTES
 *   each, under `[seq, n]`, written as its bytes arrive so that a tab
 *   never holds a whole file in memory. Made into one Blob in `files` once
 *   the file checked; deleted when it fails, and at start (a transfer
 *   cannot outlive its page).
 */
export const CHAT_DB_VERSION = 2

export interface ContactRecord {
  peerId: string
  /** The name its last HELLO announced. */
  name: string
  /** Base64 of the KEM public key pinned for it, once keys were negotiated. */
  publicKey?: string
  session?: DirectionKeys & { negotiatedAt: string }
  /** A key it announced or offered that is not the pinned one: flagged, never used. */
  keyChanged?: { publicKey: string, at: string }
}

export type MessageState = 'sending' | 'delivered' | 'failed' | 'receiving' | 'received'

export interface FileInfo {
  /** The transfer's id (the protocol's, the sender's choice). */
  transferId?: string
  name: string
  size: number
  /** Hex SHA-256 of the whole file, checked by the receiver before it kept it. */
  sha256?: string
}

export interface MessageRecord {
  seq?: number
  peer: string
  direction: 'in' | 'out'
  /** The protocol's message id; an out message has it from the start, and a retry sends it again (the peer drops a copy it has). */
  id?: string
  text: string
  at: string
  encrypted: boolean
  state: MessageState
  error?: string
  file?: FileInfo
  /** Not a message: a note in the conversation, in `error` (something from the peer was refused) or `text` (something this tab did). */
  notice?: boolean
}

interface ChatSchema extends DBSchema {
  identity: { key: string, value: { secretKey: Uint8Array } }
  contacts: { key: string, value: ContactRecord }
  messages: { key: number, value: MessageRecord, indexes: { peer: string, state: MessageState } }
  files: { key: string, value: Blob }
  pieces: { key: [number, number], value: Blob }
}

export type ChatDb = IDBPDatabase<ChatSchema>

export function chatDbName (profile: string): string {
  return `pipbingo-chat-${profile}`
}

export async function openChatDb (profile: string): Promise<ChatDb> {
  return await openDB<ChatSchema>(chatDbName(profile), CHAT_DB_VERSION, {
    upgrade (db, oldVersion, _newVersion, tx) {
      if (oldVersion < 1) {
        db.createObjectStore('identity')
        db.createObjectStore('contacts', { keyPath: 'peerId' })
        db.createObjectStore('messages', { keyPath: 'seq', autoIncrement: true }).createIndex('peer', 'peer')
        db.createObjectStore('files')
      }
      if (oldVersion < 2) {
        db.createObjectStore('pieces')
        // what a closed page left under way is found at start without reading the whole history
        tx.objectStore('messages').createIndex('state', 'state')
      }
    }
  })
}

/** The pieces of the file received as message `seq`, in order. */
export function piecesOf (seq: number): IDBKeyRange {
  return IDBKeyRange.bound([seq, 0], [seq, Infinity])
}
