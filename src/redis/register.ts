// Opens the Redis connection when REDIS_URL is set, and closes it when the app closes.
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config-types.js'
import { connectRedis, type RedisConnection } from './connection.js'

/** How long the start waits for Redis; past it the service starts alone and /readyz stays 503. */
const START_WAIT_MS = 2000

export async function registerRedis (app: FastifyInstance, config: Config): Promise<RedisConnection | undefined> {
  if (config.redisUrl === undefined) return undefined
  const redis = connectRedis({ url: config.redisUrl, prefix: config.redisKeyPrefix, log: app.log.child({ component: 'redis' }) })
  // fastify runs onClose hooks last-in first-out: added first, this runs after every store that uses Redis.
  app.addHook('onClose', async () => { await redis.close() })
  await redis.ready(START_WAIT_MS)
  return redis
}
