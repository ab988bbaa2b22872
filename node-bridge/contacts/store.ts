import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { isKemPublicKey } from '@core/protocols/chat/kem'
import { removeLeftovers, writeFileAtomic } from './atomic-file'
import { ContactNotFoundError, ContactsFullError, ContactsUnreadableError } from './errors'

const sessionSchema = z.strictObject({
  /** The negotiated session key, base64 (32 bytes). Secret: the file is the owner's only. */
  key: z.string().min(1),
  fingerprint: z.string(),
  negotiated_at: z.string()
})

const contactSchema = z.strictObject({
  name: z.string().min(1),
  peer_id: z.string().min(1).optional(),
  /** As given to `contacts add`, or learnt in key negotiation (base64). */
  public_key: z.string().optional(),
  added_at: z.string(),
  updated_at: z.string(),
  session: sessionSchema.optional()
})

const fileSchema = z.strictObject({ version: z.literal(1), contacts: z.array(contactSchema) })

export type Contact = z.infer<typeof contactSchema>
export type ContactSession = z.infer<typeof sessionSchema>

export const CONTACTS_FILE = 'contacts.json'
/**
 * Contacts at most, added by hand or learnt from key negotiations: each
 * change rewrites the file, so an unbounded list lets a local program or a
 * stream of negotiating peers make every change slower and the file huge.
 */
export const MAX_CONTACTS = 1000

/**
 * The contacts in `dataDir/contacts.json`: names, the peers they were bound
 * to, their public keys and negotiated sessions. Every change is written at
 * once and atomically (writeFileAtomic), one write after another.
 */
export class ContactStore {
  private saving: Promise<void> = Promise.resolve()

  private constructor (private readonly path: string, private readonly contacts: Contact[]) {}

  static async open (dataDir: string): Promise<ContactStore> {
    await mkdir(dataDir, { recursive: true })
    const path = join(dataDir, CONTACTS_FILE)
    await removeLeftovers(path)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (err: any) {
      if (err?.code === 'ENOENT') return new ContactStore(path, [])
      throw new ContactsUnreadableError(`Cannot read ${path}: ${err?.message}`)
    }
    let parsed
    try {
      parsed = fileSchema.safeParse(JSON.parse(text))
    } catch (err: any) {
      throw new ContactsUnreadableError(`${path} is not JSON: ${err?.message}`)
    }
    if (!parsed.success) throw new ContactsUnreadableError(`${path} is not a contacts file: ${parsed.error.issues[0]?.message}`)
    return new ContactStore(path, parsed.data.contacts)
  }

  list (): Contact[] {
    return this.contacts.map(c => structuredClone(c))
  }

  get (name: string): Contact | undefined {
    return this.contacts.find(c => c.name === name)
  }

  byPeer (peerId: string): Contact | undefined {
    return this.contacts.find(c => c.peer_id === peerId)
  }

  /** Add `name` with a public key, or replace the key of the contact of that name (its session goes with the old key). */
  async add (name: string, publicKey: string): Promise<void> {
    const now = new Date().toISOString()
    const existing = this.get(name)
    if (existing == null) {
      if (this.contacts.length >= MAX_CONTACTS) throw new ContactsFullError(MAX_CONTACTS)
      this.contacts.push({ name, public_key: publicKey, added_at: now, updated_at: now })
    } else if (existing.public_key !== publicKey) {
      existing.public_key = publicKey
      existing.updated_at = now
      delete existing.session
    }
    await this.save()
  }

  async remove (name: string): Promise<void> {
    const index = this.contacts.findIndex(c => c.name === name)
    if (index < 0) throw new ContactNotFoundError(name)
    this.contacts.splice(index, 1)
    await this.save()
  }

  /**
   * Record a negotiated session with `peerId`: on the contact already bound
   * to that peer, else on an unbound contact holding this public key, else
   * on the contact called `name` if it is bound to no other peer, else on a new contact (`name`, or `name-<end of peer id>`
   * when that name is taken).
   */
  async bindSession (peerId: string, name: string, publicKey: string, session: ContactSession): Promise<Contact> {
    const now = new Date().toISOString()
    let contact = this.byPeer(peerId) ?? this.contacts.find(c => c.peer_id == null && c.public_key === publicKey)
    if (contact == null) {
      const named = this.get(name)
      // a name whose contact pins another real key is not taken over
      if (named != null && named.peer_id == null && !isKemPublicKey(named.public_key)) contact = named
    }
    if (contact == null) {
      if (this.contacts.length >= MAX_CONTACTS) throw new ContactsFullError(MAX_CONTACTS)
      const free = this.get(name) == null ? name : `${name}-${peerId.slice(-6)}`
      contact = { name: free, added_at: now, updated_at: now }
      this.contacts.push(contact)
    }
    contact.peer_id = peerId
    contact.public_key = publicKey
    contact.session = session
    contact.updated_at = now
    await this.save()
    return structuredClone(contact)
  }

  /** Resolves when every change so far is on disk. */
  async flush (): Promise<void> {
    await this.saving
  }

  /**
   * Write the list as it is now. Changes made while a write is under way
   * share the next one: a burst of N changes costs two writes, not N (each
   * is a full rewrite and an fsync), and every caller resolves once a write
   * that includes its change is durable.
   */
  private async save (): Promise<void> {
    if (this.next == null) {
      const next = this.saving.catch(() => {}).then(async () => {
        // taken now, when this write starts: it holds every change made until this moment
        if (this.next === next) this.next = undefined
        await writeFileAtomic(this.path, `${JSON.stringify({ version: 1, contacts: this.contacts }, null, 2)}\n`)
      })
      this.next = next
      this.saving = next
    }
    await this.next
  }

  /** The write that has not started yet: a change joins it. */
  private next?: Promise<void>
}
