// buildApp(config): registers plugins and routes in request order; no logic of its own.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import multipart from '@fastify/multipart'
import { pino, type Logger } from 'pino'
import type { Config } from './config-types.js'
import { registerErrorHandling } from './errors.js'
import { registerAuthentication } from './keys/authenticate.js'
import type { KeyRing } from './keys/ring.js'
import { registerRateLimit } from './limits/rate-limit.js'
import { loggerOptions } from './logger.js'
import { healthRoutes } from './ops/health.js'
import { registerRequestContext, requestIdOf } from './ops/request-context.js'
import type { Preset } from './stylize/presets.js'
import { presetsRoutes } from './stylize/presets-route.js'
import { stylizeRoutes } from './stylize/route.js'
import { UpstreamClient } from './upstream/client.js'

export interface AppDependencies {
  keyRing: KeyRing
  presets: Record<string, Preset>
  /** the process's logger; one from the config, to stdout, when absent */
  logger?: Logger
}

export async function buildApp (config: Config, deps: AppDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (deps.logger ?? pino(loggerOptions(config))) as FastifyBaseLogger,
    genReqId: requestIdOf,
    // our own completion line (ops/request-context.ts) replaces fastify's two per request
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    // fastify takes a hop count too, though its types omit it
    trustProxy: config.trustProxy as boolean | string,
    return503OnClosing: true,
    // against slow clients: the whole request must arrive within this
    requestTimeout: 120_000,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } }
  })

  registerRequestContext(app)
  registerErrorHandling(app)
  registerAuthentication(app, deps.keyRing)
  await registerRateLimit(app, config)
  await app.register(multipart, { throwFileSizeLimit: true })

  let credentials = config.credentials
  const upstream = new UpstreamClient({
    url: config.upstreamUrl,
    region: config.volcRegion,
    service: config.volcService,
    timeoutMs: config.upstreamTimeoutMs,
    credentials: () => credentials
  })
  app.decorate('setCredentials', (next: Config['credentials']) => { credentials = next })
  app.addHook('onClose', async () => { await upstream.close() })

  const presets = (): Record<string, Preset> => deps.presets
  await app.register(healthRoutes, { readiness: [] })
  await app.register(presetsRoutes, { presets })
  await app.register(stylizeRoutes, { config, presets, upstream })
  return app
}

declare module 'fastify' {
  interface FastifyInstance {
    /** swaps the upstream credentials (SIGHUP re-reads the _FILE secrets) */
    setCredentials: (credentials: Config['credentials']) => void
  }
}
