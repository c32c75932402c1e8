// Daily quotas (`dailyQuota` per key, per UTC day): one call is reserved before the upstream call and
// released when it does not succeed, so refused and failed calls do not count and concurrent requests
// never overshoot. Shared through Redis while it answers; counted by each replica alone while it does not.
import { QuotaExceededError, withRetryAfter } from '../errors.js'
import type { ClientKey } from '../keys/store.js'
import type { RedisConnection } from '../redis/connection.js'
import { sharedOrLocal } from '../redis/fallback.js'
import { MemoryQuotaCounter } from './quota-memory.js'
import { RedisQuotaCounter } from './quota-redis.js'

const DAY_MS = 86_400_000

export interface QuotaReservation {
  /** the UTC day it counts against */
  day: string
  /** the call succeeded: it counts */
  keep: () => void
  /** gives the reserved call back (it failed or was refused); safe to call twice */
  release: () => Promise<void>
  /** `await using`: released when the scope ends unless kept */
  [Symbol.asyncDispose]: () => Promise<void>
}

/** `2025-01-31` for any instant of that UTC day. */
export function utcDay (now: Date): string {
  return now.toISOString().slice(0, 10)
}

export function msToUtcMidnight (now: Date): number {
  return DAY_MS - (now.getTime() % DAY_MS)
}

export class DailyQuota {
  readonly #redis: RedisConnection | undefined
  readonly #shared: RedisQuotaCounter | undefined
  readonly #memory = new MemoryQuotaCounter()

  constructor (redis?: RedisConnection) {
    this.#redis = redis
    this.#shared = redis && new RedisQuotaCounter(redis)
  }

  /**
   * Gives back one kept call of the key's day: a job's reservation is kept when it is queued, and its
   * worker (perhaps on another replica) gives it back when the job fails.
   */
  async giveBack (keyId: string, day: string): Promise<void> {
    const shared = this.#shared as RedisQuotaCounter
    await sharedOrLocal(this.#redis, async () => { await shared.release(day, keyId) }, () => { this.#memory.release(day, keyId) })
  }

  /** The key's daily quota and what is left of it today (both null when it has none). */
  async remaining (key: ClientKey, now = new Date()): Promise<{ daily: number | null, remaining: number | null }> {
    const limit = key.dailyQuota
    if (limit === undefined) return { daily: null, remaining: null }
    const day = utcDay(now)
    const shared = this.#shared as RedisQuotaCounter
    const { value: used } = await sharedOrLocal(this.#redis, async () => await shared.used(day, key.id), () => this.#memory.used(day, key.id))
    return { daily: limit, remaining: Math.max(0, limit - used) }
  }

  /** Reserves one call for the key; undefined when it has no quota; 429 QUOTA_EXCEEDED when it is used up. */
  async reserve (key: ClientKey, now = new Date()): Promise<QuotaReservation | undefined> {
    const limit = key.dailyQuota
    if (limit === undefined) return undefined
    const day = utcDay(now)
    const shared = this.#shared as RedisQuotaCounter
    // The Redis counter outlives its day by an hour, for the calls that release across midnight.
    const { value: granted, where } = await sharedOrLocal(
      this.#redis,
      async () => await shared.reserve(day, key.id, limit, msToUtcMidnight(now) + 3_600_000),
      () => this.#memory.reserve(day, key.id, limit)
    )
    if (!granted) {
      throw withRetryAfter(new QuotaExceededError(`the daily quota of ${limit} stylizations is used up; it resets at midnight UTC`),
        msToUtcMidnight(now) / 1000)
    }
    let settled = false
    const release = async (): Promise<void> => {
      if (settled) return
      settled = true
      if (where === 'memory') return this.#memory.release(day, key.id)
      // Redis lost during the call: that one call stays counted (it cannot be given back to a store that is away).
      await shared.release(day, key.id).catch(() => {})
    }
    return {
      day,
      keep: () => { settled = true },
      release,
      [Symbol.asyncDispose]: release
    }
  }
}
