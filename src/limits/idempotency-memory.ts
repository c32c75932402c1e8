// Idempotency entries in this replica's memory: an LRU bounded by entries and by bytes, each entry
// expiring after its TTL. Running claims are never evicted (that would let a duplicate call through).
import { entryBytes, type IdempotencyEntry, type IdempotencyStore } from './idempotency-entry.js'

export interface MemoryIdempotencyLimits {
  maxEntries: number
  maxBytes: number
}

interface Slot { entry: IdempotencyEntry, expiresAt: number, bytes: number }

export const DEFAULT_MEMORY_LIMITS: MemoryIdempotencyLimits = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 }

export class MemoryIdempotencyStore implements IdempotencyStore {
  /** Map order is recency: a read moves an entry to the end, eviction takes from the front */
  readonly #slots = new Map<string, Slot>()
  readonly #limits: MemoryIdempotencyLimits
  #bytes = 0

  constructor (limits: MemoryIdempotencyLimits = DEFAULT_MEMORY_LIMITS) {
    this.#limits = limits
  }

  get size (): number {
    return this.#slots.size
  }

  get bytes (): number {
    return this.#bytes
  }

  /** The live entry under id (and marks it recently used). */
  get (id: string, now = Date.now()): IdempotencyEntry | undefined {
    const slot = this.#slots.get(id)
    if (slot === undefined) return undefined
    this.#delete(id)
    if (slot.expiresAt <= now) return undefined
    this.#slots.set(id, slot)
    this.#bytes += slot.bytes
    return slot.entry
  }

  async claim (id: string, fingerprint: string, owner: string, runningTtlMs: number): Promise<IdempotencyEntry | undefined> {
    const existing = this.get(id)
    if (existing !== undefined) return existing
    this.#set(id, { state: 'running', fingerprint, owner }, runningTtlMs)
    return undefined
  }

  async complete (id: string, entry: IdempotencyEntry & { state: 'done' }, ttlMs: number): Promise<void> {
    this.#delete(id)
    // One result larger than a quarter of the store would push out everything else: not kept.
    if (entryBytes(entry) > this.#limits.maxBytes / 4) return
    this.#set(id, entry, ttlMs)
    this.#evict()
  }

  async renew (id: string, owner: string, _fingerprint: string, runningTtlMs: number): Promise<void> {
    const slot = this.#slots.get(id)
    if (slot?.entry.state === 'running' && slot.entry.owner === owner) slot.expiresAt = Date.now() + runningTtlMs
  }

  async abandon (id: string, owner: string): Promise<void> {
    const slot = this.#slots.get(id)
    if (slot?.entry.state === 'running' && slot.entry.owner === owner) this.#delete(id)
  }

  #set (id: string, entry: IdempotencyEntry, ttlMs: number): void {
    const bytes = entryBytes(entry)
    this.#slots.set(id, { entry, expiresAt: Date.now() + ttlMs, bytes })
    this.#bytes += bytes
  }

  #delete (id: string): void {
    const slot = this.#slots.get(id)
    if (slot === undefined) return
    this.#slots.delete(id)
    this.#bytes -= slot.bytes
  }

  #evict (): void {
    const now = Date.now()
    for (const [id, slot] of this.#slots) {
      const over = this.#slots.size > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes
      if (!over) return
      if (slot.entry.state === 'done' || slot.expiresAt <= now) this.#delete(id)
    }
  }
}
