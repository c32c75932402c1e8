// A request answered before its body was read (401, 429, 503, a limit). The answer goes out at once: a
// refusal that waited for a photo's upload would be as slow as the upload, and a client that reads while
// it sends (browsers, undici, curl) stops sending when it sees it. The rest of the body is then read and
// dropped, so that a client that sends everything before it reads still gets the answer (closing a socket
// that holds unread bytes makes the kernel send a reset, which destroys what the client has not read yet);
// one that has not ended its body a while later is cut off. A client that asked `Expect: 100-continue`
// and was refused before its go-ahead does not send the body: the connection closes after the answer
// (what such a client sends anyway, not waiting, is read and dropped as above).
import type { IncomingMessage, Server, ServerResponse } from 'node:http'

export const UNREAD_BODY_LINGER_MS = 2000

const toldToContinue = new WeakSet<IncomingMessage>()

/** As Node tells an HTTP/1.1 request that waits for `100 Continue` (its 'checkContinue' event) from others. */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i

function expectsContinue (request: IncomingMessage): boolean {
  return request.httpVersion === '1.1' && CONTINUE_EXPECTATION.test(request.headers.expect ?? '')
}

/** True while the client waits for `100 Continue` before sending a body: an answer now must close the connection. */
export function bodyWithheld (request: IncomingMessage): boolean {
  return expectsContinue(request) && !toldToContinue.has(request) && !request.complete
}

/** Sends `100 Continue` to a client that waits for it before sending its body (once). */
export function allowBody (request: IncomingMessage, response: ServerResponse): void {
  if (!bodyWithheld(request) || response.headersSent) return
  toldToContinue.add(request)
  response.writeContinue()
}

/** Reads and drops what an answer about to go out left of the body; the socket is cut if it never ends. */
export function dropUnreadBody (request: IncomingMessage, server: Server, lingerMs = UNREAD_BODY_LINGER_MS): void {
  if (request.complete || request.readableEnded || request.destroyed) return
  const socket = request.socket
  // An answer that is the connection's last (Connection: close, HTTP/1.0, a 413, shutting down, a refusal
  // before the go-ahead) makes Node destroy the socket once the answer is written; with the upload still
  // coming the kernel would reset the connection, and the client could lose the answer. So Node's close
  // only ends this side; the socket is destroyed once the body has ended (or the linger is over).
  let closing = false
  socket.destroySoon = () => {
    closing = true
    socket.end()
  }
  const done = (): void => {
    clearTimeout(timer)
    request.off('end', ended)
    request.off('close', done)
    request.off('error', done)
  }
  const ended = (): void => {
    done()
    if (closing) socket.destroy()
    // the client had its answer before its body was all read: a server that began to close meanwhile
    // found this connection busy and left it open; now idle, it is closed as the server would have
    else if (!server.listening) server.closeIdleConnections()
  }
  const timer = setTimeout(() => {
    done()
    socket.destroy()
  }, lingerMs)
  timer.unref()
  request.on('end', ended)
  request.on('close', done)
  request.on('error', done)
  request.resume()
}
