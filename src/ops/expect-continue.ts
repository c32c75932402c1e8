// `Expect: 100-continue` (curl sends it for bodies over 1 MB; Node's, Go's, Java's and .NET's clients can):
// the client sends its body only after the server's go-ahead. Node gives the go-ahead the moment the
// headers arrive; here it is given after the last check that needs no body (the key, its rate limit, the
// load, image admission, a place in line), so that a refused client never uploads its photo.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { allowBody, bodyWithheld } from './unread-body.js'

async function goAhead (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  allowBody(request.raw, reply.raw)
}

export function registerExpectContinue (app: FastifyInstance): void {
  // with a listener here, Node leaves the go-ahead to us and hands the request on as any other
  app.server.on('checkContinue', (request, response) => { app.server.emit('request', request, response) })
  // the route's own preParsing hooks (a place in line) run after the app's: the go-ahead comes after both
  app.addHook('onRoute', (route: RouteOptions) => {
    const own = route.preParsing === undefined ? [] : Array.isArray(route.preParsing) ? route.preParsing : [route.preParsing]
    route.preParsing = [...own, goAhead]
  })
  // an answer before the go-ahead (any refusal, a 404): the body will not come, so the connection cannot
  // carry another request
  app.addHook('onSend', async (request, reply) => {
    if (bodyWithheld(request.raw)) void reply.header('connection', 'close')
  })
}
