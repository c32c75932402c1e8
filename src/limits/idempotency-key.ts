// The `Idempotency-Key` header: optional; when sent, it must be a short safe token (it is part of a store key).
import type { IncomingHttpHeaders } from 'node:http'
import { InvalidRequestError } from '../errors.js'

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/

/** The header's value, undefined when absent; 400 INVALID_REQUEST when malformed or sent twice. */
export function readIdempotencyKey (headers: IncomingHttpHeaders): string | undefined {
  const value = headers['idempotency-key']
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new InvalidRequestError('Idempotency-Key must be 1 to 128 characters of A-Z a-z 0-9 . _ : -')
  }
  return value
}
