// A request answered before its body was read (401, 429, 503, a limit): the rest of the body is read and
// dropped before the answer goes out. Closing a socket that still holds unread bytes makes the kernel
// send a reset, which can destroy the answer on its way to the client; a client that stops sending
// would hold the socket open. So: wait a little for the body, then close the connection if it never ended.
import type { IncomingMessage } from 'node:http'

export const UNREAD_BODY_LINGER_MS = 2000

/** Resolves true when the body was all read (the connection may be kept), false when it gave up. */
export async function discardUnreadBody (request: IncomingMessage, lingerMs = UNREAD_BODY_LINGER_MS): Promise<boolean> {
  if (request.complete || request.readableEnded || request.destroyed) return true
  return await new Promise<boolean>((resolve) => {
    const done = (ended: boolean): void => {
      clearTimeout(timer)
      request.off('end', onEnd)
      request.off('close', onClose)
      request.off('error', onClose)
      resolve(ended)
    }
    const onEnd = (): void => { done(true) }
    const onClose = (): void => { done(request.complete) }
    const timer = setTimeout(() => { done(false) }, lingerMs)
    request.on('end', onEnd)
    request.on('close', onClose)
    request.on('error', onClose)
    request.resume()
  })
}
