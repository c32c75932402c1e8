// Checks a request's HMAC-SHA256 signature the way Volcengine's gateway does, with the proxy's own signer.
// Pure: the clock comes in as `now`.
import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { SIGNING_ALGORITHM, computeSignature, parseXDate, sha256Hex } from '../upstream/sign.js'
import type { GatewayFailure } from './gateway-errors.js'

/** How far X-Date may be from the emulator's clock, either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000

export interface VerifyInput {
  method: string
  /** the raw request target, path and query as sent */
  url: string
  headers: IncomingHttpHeaders
  body: Buffer
  now: Date
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
  region: string
  service: string
}

interface ParsedAuthorization {
  accessKeyId: string
  shortDate: string
  region: string
  service: string
  signedHeaders: string[]
  signature: string
}

function headerValue (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

function parseAuthorization (value: string): ParsedAuthorization | GatewayFailure {
  const invalid: GatewayFailure = { code: 'InvalidAuthorization', message: "Invalid 'Authorization' header, Pls check authorization header." }
  if (!value.startsWith(SIGNING_ALGORITHM + ' ')) return invalid
  const fields = new Map<string, string>()
  for (const part of value.slice(SIGNING_ALGORITHM.length + 1).split(',')) {
    const equals = part.indexOf('=')
    if (equals > 0) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return invalid
  const scope = credential.split('/')
  if (scope.length !== 5 || scope[4] !== 'request' || !/^\d{8}$/.test(scope[1] ?? '')) {
    return { code: 'InvalidCredential', message: "Invalid credential in 'Authorization', Pls check credential in authorization header." }
  }
  const [accessKeyId = '', shortDate = '', region = '', service = ''] = scope
  return {
    accessKeyId,
    shortDate,
    region,
    service,
    signedHeaders: signedHeaders.split(';').map((name) => name.trim().toLowerCase()).filter((name) => name !== ''),
    signature: signature.toLowerCase()
  }
}

function rawQuery (url: string): Record<string, string> {
  const question = url.indexOf('?')
  const query: Record<string, string> = {}
  if (question < 0) return query
  for (const [key, value] of new URLSearchParams(url.slice(question + 1))) query[key] = value
  return query
}

function constantTimeEqual (expected: string, given: string): boolean {
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

const signatureMismatch: GatewayFailure = {
  code: 'SignatureDoesNotMatch',
  message: 'The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method. Consult the service documentation for details.'
}

/** Returns the gateway's refusal, or undefined when the signature holds. */
export function verifySignature (input: VerifyInput): GatewayFailure | undefined {
  const authorization = headerValue(input.headers, 'authorization')
  if (authorization === undefined || authorization === '') {
    return { code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token.' }
  }
  const parsed = parseAuthorization(authorization)
  if ('code' in parsed) return parsed
  // the time is part of what is signed, or a captured request could be replayed with a fresh X-Date
  if (!parsed.signedHeaders.includes('x-date')) {
    return { code: 'InvalidAuthorization', message: 'SignedHeaders must include x-date.' }
  }

  const xDate = headerValue(input.headers, 'x-date')
  if (xDate === undefined || xDate === '') {
    return { code: 'MissingRequestInfo', message: 'The request is missing X-Date information.' }
  }
  const signedAt = parseXDate(xDate)
  if (signedAt === undefined || Math.abs(input.now.getTime() - signedAt) > MAX_CLOCK_SKEW_MS) {
    return { code: 'InvalidTimestamp', message: 'The Signature of the request is expired.' }
  }
  if (parsed.accessKeyId !== input.accessKeyId) {
    return { code: 'InvalidAccessKey', message: 'The accesskey included in the request is invalid.' }
  }
  if (parsed.service !== input.service) {
    return { code: 'ServiceNotFound', message: `This service[${parsed.service}] not found.` }
  }

  const bodySha256 = sha256Hex(input.body)
  const declaredSha256 = headerValue(input.headers, 'x-content-sha256')
  if (declaredSha256 !== undefined && declaredSha256.trim().toLowerCase() !== bodySha256) {
    return { code: 'SignatureDoesNotMatch', message: 'The X-Content-Sha256 header does not match the request body.' }
  }
  if (parsed.region !== input.region || parsed.shortDate !== xDate.slice(0, 8)) return signatureMismatch

  const headers: Record<string, string> = {}
  for (const name of parsed.signedHeaders) headers[name] = headerValue(input.headers, name) ?? ''
  const common = {
    method: input.method,
    path: input.url.split('?')[0] ?? '/',
    query: rawQuery(input.url),
    signedHeaders: parsed.signedHeaders,
    bodySha256,
    xDate,
    region: input.region,
    service: input.service,
    secretAccessKey: input.secretAccessKey
  }
  // Our signer only trims header values; the official SDK also collapses inner whitespace: accept both.
  const collapsed = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace(/\s+/g, ' ')]))
  const matches = constantTimeEqual(computeSignature({ ...common, headers }), parsed.signature) ||
    constantTimeEqual(computeSignature({ ...common, headers: collapsed }), parsed.signature)
  if (!matches) return signatureMismatch

  if (input.sessionToken !== undefined) {
    const token = headerValue(input.headers, 'x-security-token')
    if (token === undefined || !constantTimeEqual(input.sessionToken, token)) {
      return { code: 'InvalidSecretToken', message: `Invalid secret token, msg: ${token === undefined ? 'missing X-Security-Token' : 'token does not match'}.` }
    }
  }
  return undefined
}
