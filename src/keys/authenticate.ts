// Resolves the client key of every request (without refusing), so that rate limits can key on it,
// then refuses, on the routes that need a key, before the body is read.
import type { FastifyInstance } from 'fastify'
import { UnauthorizedError } from '../errors.js'
import { presentedApiKey } from './credentials.js'
import type { KeyRing } from './ring.js'
import type { ClientKey } from './store.js'

declare module 'fastify' {
  interface FastifyRequest {
    clientKey: ClientKey | undefined
  }
  interface FastifyContextConfig {
    /** the route answers 401 without a valid client key */
    requiresKey?: boolean
  }
}

export function registerAuthentication (app: FastifyInstance, keyRing: KeyRing): void {
  app.decorateRequest('clientKey', undefined)
  app.addHook('onRequest', async (request) => {
    const presented = presentedApiKey(request.headers)
    const key = presented === undefined ? undefined : keyRing.lookup(presented)
    request.clientKey = key === undefined || key.disabled ? undefined : key
    request.completion.keyId = request.clientKey?.id
  })
  // preParsing runs after the rate limiter's onRequest hook and before any body is read.
  app.addHook('preParsing', async (request) => {
    if (request.routeOptions.config.requiresKey === true && request.clientKey === undefined) {
      throw new UnauthorizedError('a valid API key is required (Authorization: Bearer <key> or X-API-Key)')
    }
  })
}
