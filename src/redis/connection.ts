// The one Redis connection of a replica, set to fail fast: no offline queue, one retry, a short command
// timeout, so a lost or slow Redis never hangs a request; the stores then use this replica's memory.
// It reconnects by itself, with backoff, for ever.
import { Redis } from 'ioredis'
import type { BaseLogger } from 'pino'
import type { ReadinessCheck } from '../ops/health.js'
import { RedisState } from './state.js'

export interface RedisOptions {
  url: string
  /** prepended to every key and channel, so that several services (or tests) can share one Redis */
  prefix: string
  log: Pick<BaseLogger, 'info' | 'warn' | 'debug'>
  /** how long one command may take before it fails (and the caller falls back to memory) */
  commandTimeoutMs?: number
  /** how often a PING checks that Redis still answers (a stalled Redis keeps its socket open) */
  pingIntervalMs?: number
}

export interface RedisConnection {
  client: Redis
  state: RedisState
  prefix: string
  /** a second connection for SUBSCRIBE (a subscribed connection can run nothing else); made on first use */
  subscriber: () => Redis
  /** resolves once Redis first answers, or after timeoutMs (the service then starts without it) */
  ready: (timeoutMs: number) => Promise<boolean>
  close: () => Promise<void>
}

/** Reconnect delays: 100 ms doubling to at most 2 s, never giving up. */
export function reconnectDelayMs (attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2000)
}

export function connectRedis (options: RedisOptions): RedisConnection {
  const { log } = options
  const state = new RedisState(log)
  const commandTimeout = options.commandTimeoutMs ?? 1000
  const client = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout,
    connectTimeout: 2000,
    retryStrategy: reconnectDelayMs,
    lazyConnect: false
  })
  let closing = false
  let lastError: string | undefined
  // Without an 'error' listener ioredis prints every failed reconnect; the state logs the transitions.
  client.on('error', (error: Error) => {
    lastError = error.message
    log.debug({ reason: error.message }, 'Redis error')
  })
  client.on('ready', () => { if (!closing) state.set(true) })
  client.on('close', () => { if (!closing) state.set(false, lastError ?? 'connection closed') })

  const ping = setInterval(() => {
    if (client.status !== 'ready') return
    client.ping().then(
      () => { if (!closing && client.status === 'ready') state.set(true) },
      (error: Error) => { if (!closing) state.set(false, `ping failed: ${error.message}`) }
    )
  }, options.pingIntervalMs ?? 1000)
  ping.unref()

  let subscriber: Redis | undefined
  return {
    client,
    state,
    prefix: options.prefix,
    subscriber: () => {
      // The subscriber may queue while offline: it is never on a request's path, and it resubscribes itself.
      if (subscriber === undefined) {
        subscriber = client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })
        subscriber.on('error', (error: Error) => log.debug({ reason: error.message }, 'Redis subscriber error'))
      }
      return subscriber
    },
    ready: async (timeoutMs) => {
      if (state.up) return true
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(state.up), timeoutMs)
        state.onChange((up) => {
          if (!up) return
          clearTimeout(timer)
          resolve(true)
        })
      })
    },
    close: async () => {
      closing = true
      clearInterval(ping)
      await Promise.all([client, subscriber].map(async (connection) => {
        if (connection === undefined) return
        // QUIT lets pending replies arrive; a down Redis cannot answer it, so then just drop the socket.
        try { await connection.quit() } catch { connection.disconnect() }
      }))
    }
  }
}

/** /readyz is 503 while Redis does not answer. */
export function redisReadiness (connection: RedisConnection): ReadinessCheck {
  // the reason stays in the log: /readyz is public and Redis errors name internal addresses
  return async () => connection.state.up ? undefined : 'redis: down'
}
