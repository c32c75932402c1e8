// Daily quota counters in Redis, shared by every replica. One script checks and counts, so that
// concurrent requests on any number of replicas can never pass the quota together.
import type { RedisConnection } from '../redis/connection.js'
import { defineScript, type Script } from '../redis/script.js'

// Counts one call unless the quota is used up; the counter expires after its day (plus a margin).
const RESERVE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
if used == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`

// Gives one call back; never below zero (a Redis restarted without persistence starts again from zero).
const RELEASE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used > 0 then redis.call('DECR', KEYS[1]) end
return used
`

export class RedisQuotaCounter {
  readonly #redis: RedisConnection
  readonly #reserve: Script
  readonly #release: Script

  constructor (redis: RedisConnection) {
    this.#redis = redis
    this.#reserve = defineScript(redis.client, 'stylizeQuotaReserve', 1, RESERVE_LUA)
    this.#release = defineScript(redis.client, 'stylizeQuotaRelease', 1, RELEASE_LUA)
  }

  async reserve (day: string, id: string, limit: number, ttlMs: number): Promise<boolean> {
    return await this.#reserve([this.#key(day, id)], [limit, ttlMs]) === 1
  }

  async used (day: string, id: string): Promise<number> {
    return Number(await this.#redis.client.get(this.#key(day, id)) ?? 0)
  }

  async release (day: string, id: string): Promise<void> {
    await this.#release([this.#key(day, id)], [])
  }

  #key (day: string, id: string): string {
    return `${this.#redis.prefix}quota:${day}:${encodeURIComponent(id)}`
  }
}
