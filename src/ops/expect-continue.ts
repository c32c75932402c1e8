// `Expect: 100-continue` (curl sends it for bodies over 1 MB; Node's, Go's, Java's and .NET's clients can):
// the client sends its body only after the server's go-ahead. Node gives the go-ahead the moment the
// headers arrive; here it is given after the last check that needs no body (the key, its rate limit, the
// load, image admission, a place in line, the declared length and type), so that a refused client never
// uploads its photo.
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify'
import { allowBody, bodyWithheld } from './unread-body.js'

/** fastify's own checks of a body, which it makes only once the body is being read: made here first */
function refusalOfBody (request: FastifyRequest): Error | undefined {
  const length = Number(request.headers['content-length'])
  if (length > request.routeOptions.bodyLimit) return new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()
  if (type !== undefined && type !== '' && !request.server.hasContentTypeParser(type)) return new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(type)
  return undefined
}

async function goAhead (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!bodyWithheld(request.raw)) return
  const refusal = refusalOfBody(request)
  if (refusal !== undefined) throw refusal
  allowBody(request.raw, reply.raw)
}

export function registerExpectContinue (app: FastifyInstance): void {
  // with a listener here, Node leaves the go-ahead to us and hands the request on as any other
  app.server.on('checkContinue', (request, response) => { app.server.emit('request', request, response) })
  // the route's own preParsing hooks (a place in line) run after the app's: the go-ahead comes after both
  // (the 404 handler has no route: it answers before any body, errors.ts)
  app.addHook('onRoute', (route: RouteOptions) => {
    const own = route.preParsing === undefined ? [] : Array.isArray(route.preParsing) ? route.preParsing : [route.preParsing]
    route.preParsing = [...own, goAhead]
  })
  // an answer before the go-ahead (any refusal): the body will not come, so the connection cannot carry
  // another request (Node knows it too; said here so that the answer says it)
  app.addHook('onSend', async (request, reply) => {
    if (bodyWithheld(request.raw)) void reply.header('connection', 'close')
  })
}
