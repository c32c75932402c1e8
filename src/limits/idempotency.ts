// Idempotency-Key: the first request under a key (per client key) runs and its result is kept; a retry
// with the same request gets that result without a second upstream call; the same key with another
// request is 422 IDEMPOTENCY_KEY_REUSED. A duplicate arriving while the first runs WAITS for it (an
// in-process promise on the same replica, polling Redis across replicas) for up to IDEMPOTENCY_WAIT_MS,
// then gets 409 IDEMPOTENCY_IN_PROGRESS with Retry-After. If the first fails with nothing kept, the
// waiting duplicate runs itself.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { IdempotencyInProgressError, IdempotencyKeyReusedError, withRetryAfter } from '../errors.js'
import type { RedisConnection } from '../redis/connection.js'
import { sharedOrLocal, type Where } from '../redis/fallback.js'
import type { IdempotencyEntry, IdempotencyStore, StoredResult } from './idempotency-entry.js'
import { MemoryIdempotencyStore, type MemoryIdempotencyLimits } from './idempotency-memory.js'
import { RedisIdempotencyStore } from './idempotency-redis.js'

export interface IdempotencyOptions {
  /** how long a result stays answerable (IDEMPOTENCY_TTL_MS) */
  ttlMs: number
  /** how long a duplicate waits for the first request before 409 (IDEMPOTENCY_WAIT_MS) */
  waitMs: number
  /** a claim's life unless renewed: a crashed replica's claim frees the key after this */
  runningTtlMs?: number
  /** how often a duplicate looks again at a claim held by another replica */
  pollMs?: number
  memory?: MemoryIdempotencyLimits
}

export type IdempotencyStart =
  | { kind: 'replay', result: StoredResult }
  | { kind: 'run', claim: IdempotencyClaim }

const IN_PROGRESS_RETRY_AFTER_S = 5

export class Idempotency {
  readonly #redis: RedisConnection | undefined
  readonly #shared: RedisIdempotencyStore | undefined
  readonly #memory: MemoryIdempotencyStore
  readonly #options: Required<Omit<IdempotencyOptions, 'memory'>>
  /** claims held by this replica: duplicates here wait on these instead of polling */
  readonly #running = new Map<string, Promise<void>>()

  constructor (redis: RedisConnection | undefined, options: IdempotencyOptions) {
    this.#redis = redis
    this.#shared = redis && new RedisIdempotencyStore(redis)
    this.#memory = new MemoryIdempotencyStore(options.memory)
    this.#options = { runningTtlMs: 30_000, pollMs: 200, ...options }
  }

  /**
   * Looks the key up for this client key: a kept result to replay, or a claim to run under (call
   * `complete` or `abandon` on it). Throws 422 for another request under the key, 409 after waiting.
   */
  async begin (scope: string, idempotencyKey: string, fingerprint: string): Promise<IdempotencyStart> {
    const id = `${encodeURIComponent(scope)}:${idempotencyKey}`
    const deadline = Date.now() + this.#options.waitMs
    for (;;) {
      const owner = randomUUID()
      const { existing, where } = await this.#claim(id, fingerprint, owner)
      if (existing === undefined) return { kind: 'run', claim: this.#newClaim(id, fingerprint, owner, where) }
      if (existing.fingerprint !== fingerprint) {
        throw new IdempotencyKeyReusedError('this Idempotency-Key was already used for a different request')
      }
      if (existing.state === 'done') return { kind: 'replay', result: existing.result }
      const remaining = deadline - Date.now()
      if (remaining <= 0) {
        throw withRetryAfter(new IdempotencyInProgressError('the first request with this Idempotency-Key is still running'), IN_PROGRESS_RETRY_AFTER_S)
      }
      await this.#waitForClaim(id, remaining)
    }
  }

  /** Until this replica's own claim settles, or one poll interval when another replica holds it. */
  async #waitForClaim (id: string, remainingMs: number): Promise<void> {
    const local = this.#running.get(id)
    if (local === undefined) return await sleep(Math.min(this.#options.pollMs, remainingMs))
    const timer = new AbortController()
    await Promise.race([local, sleep(remainingMs, undefined, { signal: timer.signal }).catch(() => {})])
    timer.abort()
  }

  async #claim (id: string, fingerprint: string, owner: string): Promise<{ existing: IdempotencyEntry | undefined, where: Where }> {
    // A result this replica kept while Redis was away still answers the retries that come here.
    const kept = this.#shared === undefined ? undefined : this.#memory.get(id)
    if (kept?.state === 'done') return { existing: kept, where: 'memory' }
    const shared = this.#shared as RedisIdempotencyStore
    const { runningTtlMs } = this.#options
    const { value, where } = await sharedOrLocal(
      this.#redis,
      async () => await shared.claim(id, fingerprint, owner, runningTtlMs),
      async () => await this.#memory.claim(id, fingerprint, owner, runningTtlMs)
    )
    return { existing: value, where }
  }

  #newClaim (id: string, fingerprint: string, owner: string, where: Where): IdempotencyClaim {
    const store: IdempotencyStore = where === 'redis' ? this.#shared as RedisIdempotencyStore : this.#memory
    let settle = (): void => {}
    const running = new Promise<void>((resolve) => { settle = resolve })
    this.#running.set(id, running)
    const { ttlMs, runningTtlMs } = this.#options
    return new IdempotencyClaim({
      store,
      memory: this.#memory,
      id,
      owner,
      fingerprint,
      ttlMs,
      runningTtlMs,
      onSettled: () => {
        // a newer claim on the same key (this one expired while running) keeps its own entry
        if (this.#running.get(id) === running) this.#running.delete(id)
        settle()
      }
    })
  }
}

interface ClaimOptions {
  store: IdempotencyStore
  memory: IdempotencyStore
  id: string
  owner: string
  fingerprint: string
  ttlMs: number
  runningTtlMs: number
  onSettled: () => void
}

/** The right to run the request under an Idempotency-Key; renewed until completed or abandoned. */
export class IdempotencyClaim {
  readonly #options: ClaimOptions
  readonly #renewal: NodeJS.Timeout
  #settled = false

  constructor (options: ClaimOptions) {
    this.#options = options
    const { store, id, owner, fingerprint, runningTtlMs } = options
    this.#renewal = setInterval(() => {
      store.renew(id, owner, fingerprint, runningTtlMs).catch(() => {})
    }, Math.max(10, Math.floor(runningTtlMs / 3)))
    this.#renewal.unref()
  }

  /**
   * Keeps the result for the retries (in memory when Redis fails right now), for IDEMPOTENCY_TTL_MS or
   * less (`keepMs`: an upstream link that expires sooner); nothing is kept for 0 or less.
   */
  async complete (result: StoredResult, keepMs?: number): Promise<void> {
    if (keepMs !== undefined && keepMs <= 0) return await this.abandon()
    if (!this.#begin()) return
    const { store, memory, id, fingerprint } = this.#options
    const ttlMs = Math.min(this.#options.ttlMs, keepMs ?? Infinity)
    const entry = { state: 'done' as const, fingerprint, result }
    try {
      await store.complete(id, entry, ttlMs)
    } catch {
      await memory.complete(id, entry, ttlMs)
    }
    this.#options.onSettled()
  }

  /** `await using`: a claim left without a result is abandoned when the scope ends. */
  async [Symbol.asyncDispose] (): Promise<void> {
    await this.abandon()
  }

  /** Frees the key: nothing worth keeping came of this request, so a retry runs again. */
  async abandon (): Promise<void> {
    if (!this.#begin()) return
    const { store, id, owner, fingerprint } = this.#options
    // If Redis is away, the claim simply expires.
    await store.abandon(id, owner, fingerprint).catch(() => {})
    this.#options.onSettled()
  }

  #begin (): boolean {
    if (this.#settled) return false
    this.#settled = true
    clearInterval(this.#renewal)
    return true
  }
}
