// What Node's HTTP server itself refuses before fastify sees a request (a request that took longer than
// REQUEST_TIMEOUT_MS, headers too large, a malformed request line): the contract's 400 with its code and
// a request id, logged at info, instead of Node's or fastify's bare answers. All are the client's doing.
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { errorBody, InvalidRequestError } from '../errors.js'

function messageOf (code: string | undefined, requestTimeoutMs: number): string {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return `the request did not arrive in full within ${Math.round(requestTimeoutMs / 1000)} s`
  if (code === 'HPE_HEADER_OVERFLOW') return 'the request headers are too large'
  return 'the request is not valid HTTP'
}

export function clientErrorHandler (requestTimeoutMs: number) {
  return function (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
    // a connection reset: nobody is left to answer
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const requestId = randomUUID()
    const body = JSON.stringify(errorBody(new InvalidRequestError(messageOf(error.code, requestTimeoutMs)), requestId))
    this.log.info({ requestId, reason: error.code, ip: socket.remoteAddress, errorCode: 'INVALID_REQUEST' }, 'request refused by the HTTP server')
    if (socket.writable) {
      socket.write(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroy()
  }
}
