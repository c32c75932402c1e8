// What a request presents: a client key (`Authorization: Bearer <key>` or `X-API-Key: <key>`), or an operator token.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

/** The presented key, trimmed; undefined when none is given (or only an empty one). Bearer wins over X-API-Key. */
export function presentedApiKey (headers: IncomingHttpHeaders): string | undefined {
  return bearerToken(headers.authorization) ?? headerValue(headers['x-api-key'])
}

/** The token of `Bearer <token>` (scheme case-insensitive, RFC 9110), else undefined. */
export function bearerToken (authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^bearer\s+(.*)$/is.exec(authorization.trim())
  return match === null ? undefined : nonEmpty(match[1])
}

function headerValue (value: string | string[] | undefined): string | undefined {
  // Two X-API-Key headers are ambiguous: neither is used.
  if (Array.isArray(value)) return value.length === 1 ? nonEmpty(value[0]) : undefined
  return nonEmpty(value)
}

function nonEmpty (value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** An operator's token (metrics, admin): hashing first gives both sides one length, so the comparison leaks neither content nor length. */
export function tokenMatches (given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected))
}
