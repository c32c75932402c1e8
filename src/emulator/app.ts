// buildEmulator(options): the fake Volcengine CVProcess as a fastify app (not listening). Wiring only.
import type { Socket } from 'node:net'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { RESULTS_PATH, cvProcessHandler, type EmulatorStats } from './cvprocess.js'
import type { EmulatorOptions } from './options.js'
import { BusinessError, businessErrorBody, newRequestId } from './responses.js'
import { ResultStore } from './result-store.js'

export type { EmulatorStats } from './cvprocess.js'

declare module 'fastify' {
  interface FastifyInstance {
    emulatorStats: EmulatorStats
  }
}

/** Room for a 5,000,000-byte image in base64 (x4/3) and the rest of the body. */
export const EMULATOR_BODY_LIMIT = 10 * 1024 * 1024

export function buildEmulator (options: EmulatorOptions, fastifyOptions: { logger?: FastifyServerOptions['logger'] } = {}): FastifyInstance {
  const app = Fastify({ logger: fastifyOptions.logger ?? false, bodyLimit: EMULATOR_BODY_LIMIT })
  const stats: EmulatorStats = { calls: 0, inFlight: 0, maxInFlight: 0 }
  const results = new ResultStore(64, options.urlTtlMs)
  const hanging = new Set<Socket>()
  app.decorate('emulatorStats', stats)

  // The signature covers the exact bytes: every body arrives raw, and the route parses it.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  // A hung call would keep close() waiting for ever.
  app.addHook('preClose', (done) => {
    for (const socket of hanging) socket.destroy()
    done()
  })

  // Errors raised before the route (body too large, bad Content-Type) in the service's body shape.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const statusCode = error.statusCode ?? 500
    const business = statusCode === 413
      ? new BusinessError(50205, 'the request body is too large')
      : statusCode < 500 ? new BusinessError(50200, 'the request is malformed') : new BusinessError(50500)
    if (statusCode >= 500) request.log.error({ err: error }, 'emulator failure')
    return reply.code(statusCode >= 500 ? 500 : statusCode).send(businessErrorBody(business, newRequestId(), performance.now()))
  })

  app.get('/', async () => ({ status: 'ok' }))
  app.get('/_emulator/stats', async () => stats)
  app.get<{ Params: { file: string } }>(`${RESULTS_PATH}/:file`, async (request, reply) => {
    const id = /^([0-9a-f]{32})\.jpeg$/.exec(request.params.file)?.[1]
    const image = id === undefined ? undefined : results.get(id)
    if (image === undefined) return reply.code(404).send({ message: 'no such result' })
    if (image === 'expired') return reply.code(403).send({ message: 'Request has expired' })
    return reply.type('image/jpeg').send(image)
  })
  app.post('/', cvProcessHandler({
    options,
    region: options.region ?? 'cn-north-1',
    service: options.service ?? 'cv',
    stats,
    results,
    hanging
  }))
  return app
}
