// Request ids, and the one completion log line per request with what it cost.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Keeps a client's X-Request-Id when it is safe to log and echo; else a new UUID. */
export function requestIdOf (request: IncomingMessage): string {
  const given = request.headers['x-request-id']
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID()
}

/** Facts gathered while handling a request, logged once when it completes. */
export interface CompletionFacts {
  keyId?: string | undefined
  preset?: string | undefined
  bytesIn?: number | undefined
  bytesUp?: number | undefined
  bytesOut?: number | undefined
  upstreamRequestId?: string | undefined
  upstreamCode?: string | undefined
  upstreamMs?: number | undefined
  /** upstream attempts sent, and the retries among them (throttling, 5xx, connects, the one 50511 reseed) */
  upstreamAttempts?: number | undefined
  retries?: number | undefined
  /** answered from a kept result (Idempotency-Key): nothing was paid */
  replayed?: boolean | undefined
  /** the client left while its call waited for the upstream: never sent */
  clientLeft?: boolean | undefined
  /** the contract code of an error answer, its message, and the internal code it came from */
  errorCode?: string | undefined
  errorMessage?: string | undefined
  reason?: string | undefined
  /** a fault of ours (500): the error, for the log only */
  err?: Error | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    completion: CompletionFacts
  }
  interface FastifyContextConfig {
    /** a health or metrics probe: its completion line is logged at debug, not info */
    probe?: boolean
  }
}

export function registerRequestContext (app: FastifyInstance): void {
  app.decorateRequest('completion', null as unknown as CompletionFacts)
  app.addHook('onRequest', async (request, reply) => {
    request.completion = {}
    void reply.header('x-request-id', request.id)
  })
  // One line per request, errors included (errors.ts adds their facts instead of a line of its own).
  app.addHook('onResponse', async (request, reply) => {
    const facts = request.completion
    const level = facts.err !== undefined ? 'error' : request.routeOptions.config.probe === true ? 'debug' : 'info'
    request.log[level]({
      method: request.method,
      path: request.url.split('?')[0],
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      ip: request.ip,
      ...facts
    }, 'request completed')
  })
  // the client left before its answer: no response will complete, so this is its one line
  app.addHook('onRequestAbort', async (request) => {
    request.log.info({
      method: request.method,
      path: request.url.split('?')[0],
      ip: request.ip,
      ...request.completion
    }, 'request aborted by the client')
  })
}
