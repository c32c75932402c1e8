// buildApp(config): registers plugins and routes in request order; no logic of its own.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import multipart from '@fastify/multipart'
import { pino, type Logger } from 'pino'
import type { Config } from './config-types.js'
import { demoRoutes } from './demo/routes.js'
import { readOpenApiDocument } from './docs/document.js'
import { docsRoutes, exemptDocsFromRateLimit } from './docs/routes.js'
import { registerErrorHandling } from './errors.js'
import { registerAuthentication } from './keys/authenticate.js'
import type { KeyRing } from './keys/ring.js'
import { Idempotency } from './limits/idempotency.js'
import { DailyQuota } from './limits/quota.js'
import { registerRateLimit } from './limits/rate-limit.js'
import { loggerOptions } from './logger.js'
import { clientErrorHandler } from './ops/client-errors.js'
import { ImageAdmission, registerImageAdmission } from './ops/image-admission.js'
import { registerCors } from './ops/cors.js'
import { registerExpectContinue } from './ops/expect-continue.js'
import { healthRoutes } from './ops/health.js'
import { createQueues } from './jobs/queues.js'
import { jobRoutes } from './jobs/routes.js'
import { registerLoadShedding } from './ops/load-shedding.js'
import { Metrics } from './ops/metrics.js'
import { registerMetrics } from './ops/metrics-route.js'
import { registerRequestContext, requestIdOf } from './ops/request-context.js'
import { registerSecurityHeaders } from './ops/security-headers.js'
import { registerShutdown } from './ops/shutdown.js'
import { redisReadiness } from './redis/connection.js'
import { registerRedisMetrics } from './redis/metrics.js'
import { registerRedis } from './redis/register.js'
import type { Preset } from './stylize/presets.js'
import { presetsRoutes } from './stylize/presets-route.js'
import { stylizeRoutes } from './stylize/route.js'
import { UpstreamCaller } from './upstream/caller.js'
import { UpstreamClient } from './upstream/client.js'
import { MemorySlotSource } from './upstream/memory-slots.js'
import { registerUsageCounting } from './usage/counting.js'
import { UsageLedger } from './usage/ledger.js'
import { usageRoutes } from './usage/routes.js'

export interface AppDependencies {
  keyRing: KeyRing
  presets: Record<string, Preset>
  /** the process's logger; one from the config, to stdout, when absent */
  logger?: Logger
}

/** fastify 5 ignores a bare hop count: as a function, hop n (0 = the socket's peer) is trusted while n < hops. */
function trustProxyOption (value: Config['trustProxy']): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof value !== 'number') return value
  return (_address, hop) => hop < value
}

export async function buildApp (config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (deps.logger ?? pino(loggerOptions(config))) as FastifyBaseLogger,
    genReqId: requestIdOf,
    // our own completion line (ops/request-context.ts) replaces fastify's two per request
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    trustProxy: trustProxyOption(config.trustProxy),
    // while closing, ops/shutdown.ts answers new requests itself (503 UPSTREAM_BUSY with Retry-After)
    return503OnClosing: false,
    // against slow clients: the whole request must arrive within REQUEST_TIMEOUT_MS, its headers within
    // 30 s (Node checks both every connectionsCheckingInterval); what Node refuses gets the contract's 400
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(30_000, config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(config.requestTimeoutMs / 4)))
    },
    clientErrorHandler: clientErrorHandler(config.requestTimeoutMs),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } }
  })

  registerRequestContext(app)
  registerErrorHandling(app)
  // before any route: each route's last preParsing hook gives an `Expect: 100-continue` client its go-ahead
  registerExpectContinue(app)
  // shared limits, quotas, idempotency and upstream slots when REDIS_URL is set (each falls back to memory)
  const redis = await registerRedis(app, config)
  // headers first, so that every answer (errors, 429s, early 503s included) carries them
  await registerSecurityHeaders(app)
  await registerCors(app, config)
  const metrics = new Metrics()
  registerMetrics(app, { metrics, token: config.metricsToken })
  if (redis !== undefined) registerRedisMetrics(metrics.registry, redis.state)
  // the key first, so that even a request shed for load is counted in its key's usage
  registerAuthentication(app, deps.keyRing)
  await registerLoadShedding(app, { maxEventLoopDelayMs: config.maxEventLoopDelayMs })
  const imageAdmission = new ImageAdmission(config.imageWorkMax)
  registerImageAdmission(app, imageAdmission)
  metrics.watchImageWork(() => imageAdmission.inUse)
  // before the rate limiter, which decides a route's limit when the route is added
  exemptDocsFromRateLimit(app)
  await registerRateLimit(app, config, redis)
  await app.register(multipart, { throwFileSizeLimit: true })

  let credentials = config.credentials
  const upstream = new UpstreamClient({
    url: config.upstreamUrl,
    region: config.volcRegion,
    service: config.volcService,
    timeoutMs: config.upstreamTimeoutMs,
    // the gate bounds calls in flight; a smaller pool would make admitted calls wait for a socket
    connections: config.upstreamConcurrency,
    credentials: () => credentials
  })
  app.decorate('setCredentials', (next: Config['credentials']) => { credentials = next })
  app.addHook('onClose', async () => { await upstream.close() })
  const caller = new UpstreamCaller({
    client: upstream,
    // this replica's own slots: alone, or while Redis is lost (with Redis, the fleet queue bounds the calls)
    slots: new MemorySlotSource(config.upstreamConcurrency),
    concurrency: config.upstreamConcurrency,
    queueMax: config.upstreamQueueMax,
    queueTimeoutMs: config.upstreamQueueTimeoutMs,
    retries: config.upstreamRetries,
    deadlineMs: config.upstreamDeadlineMs,
    breakerThreshold: config.upstreamBreakerThreshold,
    breakerCooldownMs: config.upstreamBreakerCooldownMs,
    logger: app.log,
    observer: metrics.upstreamObserver
  })
  metrics.watchUpstream(() => caller.stats)
  app.addHook('onClose', async () => { await caller.close() })

  const presets = (): Record<string, Preset> => deps.presets
  const quota = new DailyQuota(redis)
  const ledger = new UsageLedger(redis, app.log, () => { metrics.usageCountLost() })
  registerUsageCounting(app, ledger)
  const idempotency = new Idempotency(redis, { ttlMs: config.idempotencyTtlMs, waitMs: config.idempotencyWaitMs })
  // one queue for /stylize and jobs: the fleet's on BullMQ with REDIS_URL, else this process's gate
  const queues = createQueues(app, config, { redis, caller, quota, metrics, ledger })
  const notShuttingDown = registerShutdown(app, {
    timeoutMs: config.shutdownTimeoutMs,
    onDeadline: () => { caller.stop(); queues.stop() },
    onCut: () => { caller.cut(); queues.cut() }
  })
  await app.register(healthRoutes, { serving: [notShuttingDown], shared: redis === undefined ? [] : [redisReadiness(redis)] })
  await app.register(presetsRoutes, { presets })
  await app.register(stylizeRoutes, { config, presets, upstream: queues.upstream, quota, idempotency })
  await app.register(jobRoutes, {
    config, presets, queue: queues.jobs, store: queues.store, events: queues.events, quota, idempotency, onQueued: () => { metrics.jobStatus('queued') }, onFinished: queues.finished
  })
  let adminToken = config.adminToken
  app.decorate('setAdminToken', (next: string | undefined) => { adminToken = next })
  await app.register(usageRoutes, { config, ledger, quota, adminToken: () => adminToken })
  if (config.demoPage) await app.register(demoRoutes)
  await app.register(docsRoutes, { openapi: readOpenApiDocument() })
  return app
}

declare module 'fastify' {
  interface FastifyInstance {
    /** swaps the upstream credentials (SIGHUP re-reads the _FILE secrets) */
    setCredentials: (credentials: Config['credentials']) => void
    /** swaps the admin token (SIGHUP re-reads ADMIN_TOKEN_FILE) */
    setAdminToken: (token: string | undefined) => void
  }
}
