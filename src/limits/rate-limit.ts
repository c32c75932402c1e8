// Per-key rate limits with @fastify/rate-limit; requests without a valid key are limited per address,
// so that keys cannot be guessed at speed. With REDIS_URL the counts are shared by every replica
// (limits/rate-limit-store.ts); while Redis is lost, each replica counts alone in its memory.
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Config } from '../config-types.js'
import { RateLimitedError } from '../errors.js'
import type { ClientKey } from '../keys/store.js'
import { timeWindowMs } from '../keys/time-window.js'
import type { RedisConnection } from '../redis/connection.js'
import { rateLimitStore } from './rate-limit-store.js'

/** Windows were validated when the config and the keys file loaded. */
function durationMs (value: number | string): number {
  return timeWindowMs(value) ?? 60_000
}

/** The key's own limit, or the default one (GET /usage tells it). */
export function rateLimitOf (key: ClientKey, config: Config): { max: number, window_ms: number } {
  const window = key.rateLimit?.timeWindow
  return { max: key.rateLimit?.max ?? config.rateLimitMax, window_ms: durationMs(window ?? config.rateLimitWindow) }
}

export async function registerRateLimit (app: FastifyInstance, config: Config, redis?: RedisConnection): Promise<void> {
  const defaultWindowMs = durationMs(config.rateLimitWindow)
  await app.register(rateLimit, {
    global: true,
    store: rateLimitStore(redis),
    // The store falls back to memory itself and never fails; were it to, a 500 shows our bug.
    skipOnError: false,
    keyGenerator: (request: FastifyRequest) => request.clientKey ? `key:${request.clientKey.id}` : `ip:${request.ip}`,
    max: async (request: FastifyRequest) => request.clientKey?.rateLimit?.max ?? config.rateLimitMax,
    timeWindow: async (request: FastifyRequest) => {
      const window = request.clientKey?.rateLimit?.timeWindow
      return window === undefined ? defaultWindowMs : durationMs(window)
    },
    errorResponseBuilder: (_request, context) => {
      const error = new RateLimitedError(`rate limit of ${context.max} requests exceeded, retry in ${context.after}`)
      return Object.assign(error, { retryAfter: Math.ceil(context.ttl / 1000) })
    }
  })
}
