// Every key's usage, per UTC day: counted once per request (or job end) by the replica that saw it, in
// Redis for the whole fleet when REDIS_URL is set, in memory otherwise. Counting never delays or fails a
// request: it is not awaited, and a count Redis cannot take is dropped and said so in the log.
import type { BaseLogger } from 'pino'
import { utcDay } from '../limits/quota.js'
import type { RedisConnection } from '../redis/connection.js'
import type { UsageCounts } from './counts.js'
import { MemoryUsageStore, type UsageRow, type UsageStore } from './store.js'
import { RedisUsageStore } from './store-redis.js'

/** Reading the shared counts failed (Redis lost): the route answers 503, never a partial account. */
export class UsageUnavailableError extends Error {}

export class UsageLedger {
  readonly #store: UsageStore
  readonly #redis: RedisConnection | undefined
  readonly #log: Pick<BaseLogger, 'warn' | 'info'>
  readonly #onLost: () => void
  /** counts dropped since Redis was last known to take them */
  #lost = 0

  constructor (redis: RedisConnection | undefined, log: Pick<BaseLogger, 'warn' | 'info'>, onLost: () => void = () => {}) {
    this.#redis = redis
    this.#store = redis === undefined ? new MemoryUsageStore() : new RedisUsageStore(redis)
    this.#log = log
    this.#onLost = onLost
    redis?.state.onChange((up) => { if (up) this.#resumed() })
  }

  /** Adds one request's (or job end's) counts to the key's day (`at`'s UTC day). Never throws, never waits. */
  count (keyId: string, counts: UsageCounts, at = new Date()): void {
    if (Object.keys(counts).length === 0) return
    if (this.#redis !== undefined && !this.#redis.state.up) return this.#dropped()
    this.#store.add(utcDay(at), keyId, counts).then(() => { this.#resumed() }, () => { this.#dropped() })
  }

  async read (days: readonly string[], keyId?: string): Promise<UsageRow[]> {
    try {
      if (this.#redis !== undefined && !this.#redis.state.up) throw new Error('Redis lost')
      return await this.#store.read(days, keyId)
    } catch {
      throw new UsageUnavailableError('usage is unavailable while its store is unreachable')
    }
  }

  #dropped (): void {
    this.#lost++
    this.#onLost()
    if (this.#lost === 1) this.#log.warn('usage not counted while Redis is away: the counts of this outage are lost')
  }

  #resumed (): void {
    if (this.#lost === 0) return
    this.#log.warn({ usage: { lostCounts: this.#lost } }, `usage counted again; ${this.#lost} requests' counts were lost while Redis was away`)
    this.#lost = 0
  }
}
