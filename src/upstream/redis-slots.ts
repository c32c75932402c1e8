// UPSTREAM_CONCURRENCY slots shared by every replica: a Redis sorted set of leases scored by their expiry.
// A holder renews its leases while its calls run, so a crashed replica's slots return once they expire.
// While Redis is lost, slots come from this replica's memory (the fallback source) as if alone.
import { randomUUID } from 'node:crypto'
import type { RedisConnection } from '../redis/connection.js'
import { defineScript, type Script } from '../redis/script.js'
import type { SlotLease, SlotSource } from './slots.js'

// Redis's own clock, so that replicas whose clocks differ agree on when a lease expires.
const NOW_MS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`

// KEYS[1] the lease set; ARGV: limit, lease ms, lease id. Drops expired leases, then takes one if free.
const ACQUIRE_LUA = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`

// ARGV: lease ms, then lease ids. Plain ZADD, not XX: a Redis restarted empty learns the calls still running.
const RENEW_LUA = `${NOW_MS}
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return #ARGV - 1
`

// ARGV: lease id, channel. Tells every replica that a slot came free.
const RELEASE_LUA = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 then redis.call('PUBLISH', ARGV[2], '1') end
return removed
`

export interface RedisSlotOptions {
  redis: RedisConnection
  /** UPSTREAM_CONCURRENCY, for the whole fleet */
  limit: number
  /** where slots come from while Redis is lost: this replica's memory, with the same limit */
  fallback: SlotSource
  /** a lease not renewed for this long is taken back (its holder crashed) */
  leaseTtlMs?: number
  /** how often waiters are told to look again, for leases that expired without a release message */
  pollMs?: number
}

export class RedisSlotSource implements SlotSource {
  readonly #redis: RedisConnection
  readonly #options: Required<Omit<RedisSlotOptions, 'redis' | 'fallback'>>
  readonly #fallback: SlotSource
  readonly #key: string
  readonly #channel: string
  readonly #acquire: Script
  readonly #renew: Script
  readonly #release: Script
  readonly #held = new Set<string>()
  readonly #listeners: Array<() => void> = []
  readonly #timers: NodeJS.Timeout[]
  #closed = false

  constructor (options: RedisSlotOptions) {
    const { redis } = options
    this.#redis = redis
    this.#fallback = options.fallback
    this.#options = { leaseTtlMs: 15_000, pollMs: 1000, ...options }
    this.#key = `${redis.prefix}slots`
    this.#channel = `${redis.prefix}slots:free`
    this.#acquire = defineScript(redis.client, 'stylizeSlotAcquire', 1, ACQUIRE_LUA)
    this.#renew = defineScript(redis.client, 'stylizeSlotRenew', 1, RENEW_LUA)
    this.#release = defineScript(redis.client, 'stylizeSlotRelease', 1, RELEASE_LUA)

    const subscriber = redis.subscriber()
    subscriber.on('message', (channel: string) => { if (channel === this.#channel) this.#notify() })
    subscriber.subscribe(this.#channel).catch(() => {}) // resubscribed by ioredis after a reconnect
    // Redis back: its slots may be free; Redis lost: the memory slots are.
    redis.state.onChange(() => this.#notify())

    const renew = setInterval(() => { void this.#renewHeld() }, Math.max(10, Math.floor(this.#options.leaseTtlMs / 3)))
    const poll = setInterval(() => this.#notify(), this.#options.pollMs)
    this.#timers = [renew, poll]
    for (const timer of this.#timers) timer.unref()
  }

  /** leases this replica holds in Redis now */
  get held (): number {
    return this.#held.size
  }

  async tryAcquire (): Promise<SlotLease | undefined> {
    if (!this.#redis.state.up) return await this.#fallback.tryAcquire()
    const id = randomUUID()
    let granted: boolean
    try {
      granted = await this.#acquire([this.#key], [this.#options.limit, this.#options.leaseTtlMs, id]) === 1
    } catch {
      return await this.#fallback.tryAcquire()
    }
    if (!granted) return undefined
    this.#held.add(id)
    return {
      release: async () => {
        if (!this.#held.delete(id)) return
        // Redis away: the lease expires by itself; our own waiters may go now.
        await this.#release([this.#key], [id, this.#channel]).catch(() => this.#notify())
      }
    }
  }

  onMaybeFree (listener: () => void): void {
    this.#listeners.push(listener)
    this.#fallback.onMaybeFree(listener)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const timer of this.#timers) clearInterval(timer)
    this.#listeners.length = 0
    const held = [...this.#held]
    this.#held.clear()
    // Give back what is still held (calls cut off by the shutdown deadline), so other replicas need not wait for expiry.
    await Promise.all(held.map(async (id) => await this.#release([this.#key], [id, this.#channel]).catch(() => {})))
    await this.#redis.subscriber().unsubscribe(this.#channel).catch(() => {})
    await this.#fallback.close()
  }

  async #renewHeld (): Promise<void> {
    if (this.#held.size === 0 || !this.#redis.state.up) return
    await this.#renew([this.#key], [this.#options.leaseTtlMs, ...this.#held]).catch(() => {})
  }

  #notify (): void {
    for (const listener of this.#listeners) listener()
  }
}

/**
 * The slot source for the gate: Redis leases when REDIS_URL is set (falling back to `memory` while Redis
 * is lost), else `memory` itself.
 */
export function createSlotSource (redis: RedisConnection | undefined, limit: number, memory: SlotSource): SlotSource {
  return redis === undefined ? memory : new RedisSlotSource({ redis, limit, fallback: memory })
}
