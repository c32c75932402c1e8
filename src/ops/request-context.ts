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
  /** upstream retries made (throttling, 5xx, connects, the one 50511 reseed) */
  retries?: number | undefined
  /** the contract code of an error answer */
  errorCode?: string | undefined
}

declare module 'fastify' {
  interface FastifyRequest {
    completion: CompletionFacts
  }
}

export function registerRequestContext (app: FastifyInstance): void {
  app.decorateRequest('completion', null as unknown as CompletionFacts)
  app.addHook('onRequest', async (request, reply) => {
    request.completion = {}
    void reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    const facts = request.completion
    request.log.info({
      method: request.method,
      path: request.url.split('?')[0],
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      ...facts
    }, 'request completed')
  })
}
