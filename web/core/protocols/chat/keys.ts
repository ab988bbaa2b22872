import type { AbortOptions } from '../../util/abort'
import { fromBase64, toBase64 } from './base64'
import type { ChatStream } from './chat-stream'
import { FrameType, type Body } from './codec'
import { ChatProtocolError } from './errors'
import type { ChatKeys, Handshake, SessionCiphers } from './types'

/**
 * Key negotiation, both halves. Each side encapsulates a secret to the
 * other's long-term KEM key (X-Wing on the bridge), so the session key
 * depends on both; the stream is authenticated to both peer ids by libp2p's
 * Noise handshake, and a key pinned for the peer (a contact's) is checked.
 * The responder's closing ACK is the first sealed frame: key confirmation.
 *
 *   I → R  KEYS_INIT   { public_key: pkI }
 *   R → I  KEYS_REPLY  { public_key: pkR, ciphertext: Encap(pkI) }
 *   I → R  KEYS_FINISH { ciphertext: Encap(pkR) }
 *   R → I  ACK (sealed under the new session)
 */
export async function initiateKeys (s: ChatStream, keys: ChatKeys, self: string, options: AbortOptions): Promise<SessionCiphers> {
  const initiatorKey = keys.publicKey()
  await s.sendJson(FrameType.KeysInit, { public_key: toBase64(initiatorKey) }, options)
  const reply = await s.expect(FrameType.KeysReply, options)
  const responderKey = bytes(reply.public_key)
  keys.checkRemoteKey(s.peer, responderKey)
  const cipherTextToInitiator = bytes(reply.ciphertext)
  const secretToInitiator = keys.decapsulate(cipherTextToInitiator)
  const { cipherText: cipherTextToResponder, sharedSecret: secretToResponder } = keys.encapsulate(responderKey)
  await s.sendJson(FrameType.KeysFinish, { ciphertext: toBase64(cipherTextToResponder) }, options)
  const ciphers = await keys.establish({
    peer: s.peer, initiator: true, initiatorPeer: self, responderPeer: s.peer,
    initiatorKey, responderKey, cipherTextToResponder, cipherTextToInitiator, secretToResponder, secretToInitiator
  } satisfies Handshake)
  s.useCiphers(ciphers)
  const ack = await s.expect(FrameType.Ack, options)
  if (!ack.sealed) throw new ChatProtocolError('The peer did not confirm the new keys')
  return ciphers
}

export async function respondKeys (s: ChatStream, keys: ChatKeys, self: string, init: Body<FrameType.KeysInit>, options: AbortOptions): Promise<SessionCiphers> {
  const initiatorKey = bytes(init.public_key)
  keys.checkRemoteKey(s.peer, initiatorKey)
  const responderKey = keys.publicKey()
  const { cipherText: cipherTextToInitiator, sharedSecret: secretToInitiator } = keys.encapsulate(initiatorKey)
  await s.sendJson(FrameType.KeysReply, { public_key: toBase64(responderKey), ciphertext: toBase64(cipherTextToInitiator) }, options)
  const finish = await s.expect(FrameType.KeysFinish, options)
  const cipherTextToResponder = bytes(finish.ciphertext)
  const secretToResponder = keys.decapsulate(cipherTextToResponder)
  const ciphers = await keys.establish({
    peer: s.peer, initiator: false, initiatorPeer: s.peer, responderPeer: self,
    initiatorKey, responderKey, cipherTextToResponder, cipherTextToInitiator, secretToResponder, secretToInitiator
  })
  s.useCiphers(ciphers)
  await s.sendJson(FrameType.Ack, {}, options)
  return ciphers
}

function bytes (b64: string): Uint8Array {
  const out = fromBase64(b64)
  if (out == null) throw new ChatProtocolError('Not base64')
  return out
}
