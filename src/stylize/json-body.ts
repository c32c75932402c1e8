// The JSON body parser of /stylize: fastify's own (prototype-poisoning checks included), behind a
// nesting-depth check, since JSON.parse of a deeply nested body blocks the event loop for seconds.
import type { FastifyInstance } from 'fastify'
import { InvalidRequestError } from '../errors.js'

/** The deepest nesting a valid /stylize body has is 2 (logo_info); leave room, refuse bombs. */
export const MAX_JSON_DEPTH = 16

/** True when the JSON text nests deeper than `limit`. Strings are skipped whole: base64 costs one indexOf. */
export function exceedsJsonDepth (text: string, limit: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      i = closingQuote(text, i)
      if (i === -1) return false // unterminated: JSON.parse refuses it
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return false
}

function closingQuote (text: string, open: number): number {
  let at = text.indexOf('"', open + 1)
  while (at !== -1) {
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return at
    at = text.indexOf('"', at + 1)
  }
  return -1
}

export function registerJsonBodyParser (app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string, MAX_JSON_DEPTH)) {
      done(new InvalidRequestError(`the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined)
      return
    }
    parseJson(request, body as string, done)
  })
}
