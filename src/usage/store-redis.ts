// Usage counts in Redis, one total for the fleet: a hash per key and day (a field per counter, HINCRBY),
// a set per day of the key ids that have one, and a sorted set of the days. None expires: billing history
// must never be what `maxmemory-policy volatile-lru` evicts. Instead, when a replica first counts on a new
// day, it deletes the days older than KEPT_DAYS.
import type { RedisConnection } from '../redis/connection.js'
import type { UsageCounts } from './counts.js'
import { addDays, dayNumber, KEPT_DAYS } from './days.js'
import type { UsageRow, UsageStore } from './store.js'

function countsOf (hash: Record<string, string>): UsageCounts {
  const counts: UsageCounts = {}
  for (const [name, value] of Object.entries(hash)) counts[name] = Number(value)
  return counts
}

export class RedisUsageStore implements UsageStore {
  readonly #redis: RedisConnection
  /** the day this replica last deleted the days past KEPT_DAYS for */
  #prunedFor: string | undefined

  constructor (redis: RedisConnection) {
    this.#redis = redis
  }

  async add (day: string, keyId: string, counts: UsageCounts): Promise<void> {
    const hash = this.#hashKey(day, keyId)
    const multi = this.#redis.client.multi()
    for (const [name, amount] of Object.entries(counts)) if (amount !== 0) multi.hincrby(hash, name, amount)
    multi.sadd(this.#indexKey(day), keyId).zadd(this.#daysKey(), 'NX', dayNumber(day), day)
    const results = await multi.exec()
    const failed = results?.find(([error]) => error !== null)?.[0]
    if (results === null || failed !== undefined) throw failed ?? new Error('usage counts not written')
    if (this.#prunedFor !== day) {
      this.#prunedFor = day
      // the counts are written: a prune that fails is tried again with the next count
      await this.#prune(addDays(day, -KEPT_DAYS)).catch(() => { this.#prunedFor = undefined })
    }
  }

  async read (days: readonly string[], keyId?: string): Promise<UsageRow[]> {
    const client = this.#redis.client
    const wanted: Array<{ day: string, keyId: string }> = []
    if (keyId !== undefined) {
      for (const day of days) wanted.push({ day, keyId })
    } else {
      const listing = client.pipeline()
      for (const day of days) listing.smembers(this.#indexKey(day))
      const members = await execOrThrow(listing)
      days.forEach((day, i) => { for (const id of (members[i] as string[]).sort()) wanted.push({ day, keyId: id }) })
    }
    const reading = client.pipeline()
    for (const { day, keyId: id } of wanted) reading.hgetall(this.#hashKey(day, id))
    const hashes = await execOrThrow(reading)
    return wanted
      .map((row, i) => ({ ...row, counts: countsOf(hashes[i] as Record<string, string>) }))
      .filter((row) => Object.keys(row.counts).length > 0)
  }

  /** Deletes every day up to `last`, included: its hashes, its set of ids, its place among the days. */
  async #prune (last: string): Promise<void> {
    const client = this.#redis.client
    const old = await client.zrangebyscore(this.#daysKey(), '-inf', dayNumber(last))
    for (const day of old) {
      const ids = await client.smembers(this.#indexKey(day))
      await client.del(this.#indexKey(day), ...ids.map((id) => this.#hashKey(day, id)))
      await client.zrem(this.#daysKey(), day)
    }
  }

  #hashKey (day: string, keyId: string): string {
    return `${this.#redis.prefix}usage:${day}:${encodeURIComponent(keyId)}`
  }

  #indexKey (day: string): string {
    return `${this.#redis.prefix}usage:${day}`
  }

  #daysKey (): string {
    return `${this.#redis.prefix}usage:days`
  }
}

async function execOrThrow (pipeline: ReturnType<RedisConnection['client']['pipeline']>): Promise<unknown[]> {
  const results = await pipeline.exec()
  if (results === null) throw new Error('usage not read')
  return results.map(([error, value]) => {
    if (error !== null) throw error
    return value
  })
}
