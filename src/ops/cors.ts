// CORS for browser apps on other origins (CORS_ORIGINS): preflight for the auth and idempotency headers, and
// the response headers a page needs to read (request ids, Retry-After, the rate-limit headers).
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config-types.js'

export const CORS_ALLOWED_HEADERS = ['Authorization', 'X-API-Key', 'Idempotency-Key', 'Content-Type', 'X-Request-Id']
export const CORS_EXPOSED_HEADERS = [
  'X-Request-Id', 'X-Upstream-Request-Id', 'Retry-After',
  'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'
]
/** How long (s) a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE = 600

/**
 * The CORS origin of a request: `*`, the request's own origin when listed, or false, which sends no CORS
 * header at all (a preflight from an unlisted origin is then a plain 404).
 */
export function corsOriginFor (allowed: readonly string[], origin: string | undefined): string | false {
  if (allowed.includes('*')) return '*'
  return origin !== undefined && allowed.includes(origin) ? origin : false
}

export async function registerCors (app: FastifyInstance, config: Config): Promise<void> {
  const allowed = config.corsOrigins
  if (allowed.length === 0) return
  await app.register(cors, {
    // answers the preflight in onRequest, before authentication and rate limits (a preflight carries no key)
    hook: 'onRequest',
    origin: (origin, callback) => { callback(null, corsOriginFor(allowed, origin)) },
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    // keys travel in headers, never in cookies
    credentials: false,
    maxAge: PREFLIGHT_MAX_AGE,
    strictPreflight: true
  })
}
