// The @fastify/rate-limit store: one fixed window per key, in Redis (shared by every replica) while Redis
// answers, in this replica's memory while it does not. It never fails, so `skipOnError` never comes into play.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { RedisConnection } from '../redis/connection.js'
import { sharedOrLocal } from '../redis/fallback.js'
import { defineScript, type Script } from '../redis/script.js'

interface Count { current: number, ttl: number }

// INCR, and start the window on the first hit (or when a key somehow lost its expiry).
const WINDOW_LUA = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { current, ttl }
`

/** One bounded set of fixed windows (the oldest go first when it is full). */
class WindowSet {
  readonly #windows = new Map<string, { count: number, resetAt: number }>()
  readonly #max: number

  constructor (max: number) {
    this.#max = max
  }

  get size (): number {
    return this.#windows.size
  }

  incr (key: string, windowMs: number, now: number): Count {
    let window = this.#windows.get(key)
    if (window === undefined || window.resetAt <= now) {
      this.#windows.delete(key)
      window = { count: 0, resetAt: now + windowMs }
      this.#windows.set(key, window)
      this.#prune(now)
    }
    window.count++
    return { current: window.count, ttl: window.resetAt - now }
  }

  #prune (now: number): void {
    if (this.#windows.size <= this.#max) return
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key)
    // Map order is insertion order: the first entries are the oldest windows.
    for (const key of this.#windows.keys()) {
      if (this.#windows.size <= this.#max) break
      this.#windows.delete(key)
    }
  }
}

/**
 * Fixed windows in memory. Client keys (`key:<id>`) and addresses (`ip:<address>`) are bounded apart:
 * a flood of addresses evicts only other addresses, never a key's window (which would reset its limit).
 */
export class MemoryWindows {
  readonly #keys: WindowSet
  readonly #addresses: WindowSet

  constructor (maxAddresses = 10_000, maxKeys = 100_000) {
    this.#addresses = new WindowSet(maxAddresses)
    this.#keys = new WindowSet(maxKeys)
  }

  get size (): number {
    return this.#keys.size + this.#addresses.size
  }

  incr (key: string, windowMs: number, now = Date.now()): Count {
    return (key.startsWith('key:') ? this.#keys : this.#addresses).incr(key, windowMs, now)
  }
}

export function rateLimitStore (redis: RedisConnection | undefined): FastifyRateLimitStoreCtor {
  const script: Script | undefined = redis && defineScript(redis.client, 'stylizeRateWindow', 1, WINDOW_LUA)

  class SharedRateLimitStore implements FastifyRateLimitStore {
    readonly #local = new MemoryWindows()
    readonly #prefix: string

    constructor (_options: unknown, prefix = 'rl:') {
      this.#prefix = prefix
    }

    // The plugin passes the window and the max, although its types leave them out.
    incr (key: string, callback: (error: Error | null, result?: Count) => void, timeWindow = 60_000): void {
      sharedOrLocal(
        redis,
        async () => {
          const [current, ttl] = await (script as Script)([`${(redis as RedisConnection).prefix}${this.#prefix}${key}`], [timeWindow]) as [number, number]
          return { current, ttl }
        },
        () => this.#local.incr(key, timeWindow)
      ).then(({ value }) => callback(null, value), (error: Error) => callback(error))
    }

    // For a route with its own limits; at run time the plugin passes its merged params with `routeInfo`.
    child (routeOptions: object): FastifyRateLimitStore {
      const route = (routeOptions as { routeInfo?: { method?: string, url?: string } }).routeInfo ?? {}
      return new SharedRateLimitStore(undefined, `${this.#prefix}${route.method ?? ''}${route.url ?? ''}:`)
    }
  }
  return SharedRateLimitStore as unknown as FastifyRateLimitStoreCtor
}
