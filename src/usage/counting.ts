// Counts every answer of the routes that stylize (POST /stylize, POST /jobs) against its key's usage,
// on onSend: it runs once per answer, also when the client has already gone (onResponse would not).
import type { FastifyInstance } from 'fastify'
import { requestCounts } from './counts.js'
import type { UsageLedger } from './ledger.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route's answers count in the key's usage */
    countsUsage?: boolean
  }
}

export function registerUsageCounting (app: FastifyInstance, ledger: UsageLedger): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.clientKey
    if (key !== undefined && request.routeOptions.config.countsUsage === true && request.completion !== null) {
      // on the day the request arrived, as its quota was reserved
      ledger.count(key.id, requestCounts(request.completion, reply.statusCode), new Date(Date.now() - reply.elapsedTime))
    }
    return payload
  })
}
