// Usage counts in Redis, one total for the fleet: a hash per key and day (a field per counter, HINCRBY),
// and a set per day of the key ids that have one, so that the admin report can list them. Both expire
// KEPT_DAYS after their day.
import type { RedisConnection } from '../redis/connection.js'
import type { UsageCounts } from './counts.js'
import { addDays, KEPT_DAYS } from './days.js'
import type { UsageRow, UsageStore } from './store.js'

function expiresAt (day: string): number {
  return Date.parse(`${addDays(day, KEPT_DAYS)}T00:00:00Z`)
}

function countsOf (hash: Record<string, string>): UsageCounts {
  const counts: UsageCounts = {}
  for (const [name, value] of Object.entries(hash)) counts[name] = Number(value)
  return counts
}

export class RedisUsageStore implements UsageStore {
  readonly #redis: RedisConnection

  constructor (redis: RedisConnection) {
    this.#redis = redis
  }

  async add (day: string, keyId: string, counts: UsageCounts): Promise<void> {
    const hash = this.#hashKey(day, keyId)
    const index = this.#indexKey(day)
    const at = expiresAt(day)
    const multi = this.#redis.client.multi()
    for (const [name, amount] of Object.entries(counts)) if (amount !== 0) multi.hincrby(hash, name, amount)
    multi.sadd(index, keyId).pexpireat(hash, at).pexpireat(index, at)
    const results = await multi.exec()
    const failed = results?.find(([error]) => error !== null)?.[0]
    if (results === null || failed !== undefined) throw failed ?? new Error('usage counts not written')
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

  #hashKey (day: string, keyId: string): string {
    return `${this.#redis.prefix}usage:${day}:${encodeURIComponent(keyId)}`
  }

  #indexKey (day: string): string {
    return `${this.#redis.prefix}usage:${day}`
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
