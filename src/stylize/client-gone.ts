// An AbortSignal that fires when the client goes away before its answer was sent.
// (The request stream's own 'close' fires as soon as its body was read, so the response's is used.)
import type { FastifyReply, FastifyRequest } from 'fastify'

export function clientGoneSignal (request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  const response = reply.raw
  if (request.raw.socket?.destroyed === true) controller.abort()
  else response.once('close', () => { if (!response.writableEnded) controller.abort() })
  return controller.signal
}
