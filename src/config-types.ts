// The one typed configuration object, built by loadConfig() in config.ts and passed down.
import type { Credentials } from './upstream/sign.js'

export interface Config {
  port: number
  host: string
  /** undefined when not configured (allowed only in dev/tests; `npm start` refuses) */
  credentials: Credentials | undefined
  volcRegion: string
  volcService: string
  upstreamUrl: string
  upstreamTimeoutMs: number
  upstreamConcurrency: number
  upstreamQueueMax: number
  upstreamQueueTimeoutMs: number
  upstreamRetries: number
  upstreamDeadlineMs: number
  upstreamBreakerThreshold: number
  upstreamBreakerCooldownMs: number
  apiKeysFile: string | undefined
  rateLimitMax: number
  /** milliseconds, or an @fastify/rate-limit string such as "1 minute" */
  rateLimitWindow: number | string
  redisUrl: string | undefined
  /** prepended to every Redis key and channel of this service */
  redisKeyPrefix: string
  maxUploadBytes: number
  maxImagePixels: number
  imageMaxEdge: number
  imageUrlMode: 'fetch' | 'passthrough'
  /** requests reading, downloading or preparing a photo at once; past it 503 OVERLOADED before the body is read */
  imageWorkMax: number
  /** the nice value of every thread but the event loop's (sharp's, the threadpool's): 0 keeps them level */
  imageWorkNice: number
  imageFetchTimeoutMs: number
  /** lowercase `host` or `host:port` entries */
  imageFetchAllowHosts: string[]
  presetsFile: string | undefined
  idempotencyTtlMs: number
  /** how long a duplicate waits for the first request under its Idempotency-Key before 409 */
  idempotencyWaitMs: number
  shutdownTimeoutMs: number
  /** on SIGTERM, how long readiness is 503 while requests are still served, before the listener closes */
  shutdownDrainMs: number
  /** the whole request (headers and body) must arrive within this */
  requestTimeoutMs: number
  /** event-loop lag (ms) past which requests are shed with 503 OVERLOADED; 0 = never */
  maxEventLoopDelayMs: number
  metricsToken: string | undefined
  /** empty = no CORS; may hold '*' */
  corsOrigins: string[]
  trustProxy: boolean | string | number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  demoPage: boolean
  /** how long a finished job and its result stay answerable */
  jobTtlMs: number
  /** Standard Webhooks secret (`whsec_<base64>`); unset: webhook_url is refused */
  webhookSecret: string | undefined
  webhookMaxAttempts: number
  /** `host` or `host:port` entries that webhooks may reach although they are not public */
  webhookAllowHosts: string[]
  /** PRICE_PER_CALL: what one successful call costs (usage's spend); undefined: no spend shown */
  pricePerCall: number | undefined
  priceCurrency: string | undefined
  /** unset: the admin routes do not exist */
  adminToken: string | undefined
  /** where each secret came from, so SIGHUP can re-read the _FILE ones */
  secretFiles: { accessKeyId?: string, secretAccessKey?: string, sessionToken?: string, adminToken?: string }
}
