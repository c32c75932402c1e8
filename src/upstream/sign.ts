// Volcengine's HMAC-SHA256 request signing (the "V4" scheme of its SDKs), with node:crypto only.
// Pure: no clock, no I/O. The emulator verifies with the same functions.
import { createHash, createHmac } from 'node:crypto'

export const SIGNING_ALGORITHM = 'HMAC-SHA256'

export interface Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string | undefined
}

export interface CanonicalParts {
  method: string
  path: string
  query: Record<string, string>
  /** lowercase header name -> value, holding at least every signed header */
  headers: Record<string, string>
  signedHeaders: string[]
  bodySha256: string
}

export interface SignInput {
  method: string
  host: string
  path: string
  query: Record<string, string>
  contentType: string
  /** the body, or the chunks it is sent as */
  body: string | Buffer | readonly Buffer[]
  date: Date
  region: string
  service: string
  credentials: Credentials
}

export function sha256Hex (data: string | Buffer | readonly Buffer[]): string {
  const hash = createHash('sha256')
  if (typeof data !== 'string' && !Buffer.isBuffer(data)) {
    for (const chunk of data) hash.update(chunk)
  } else {
    hash.update(data)
  }
  return hash.digest('hex')
}

function hmac (key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

/** RFC 3986 escaping: only A-Za-z0-9-_.~ stay as they are. */
export function rfc3986Escape (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

export function canonicalQuery (query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((key) => `${rfc3986Escape(key)}=${rfc3986Escape(query[key] ?? '')}`)
    .join('&')
}

/** "YYYYMMDDTHHMMSSZ" in UTC. */
export function formatXDate (date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

/** "YYYYMMDDTHHMMSSZ" -> epoch ms, or undefined when malformed (X-Date, and the X-Tos-Date of result links). */
export function parseXDate (xDate: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(xDate)
  if (match === null) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number]
  const time = Date.UTC(y, mo - 1, d, h, mi, s)
  return Number.isNaN(time) ? undefined : time
}

export function canonicalRequest (parts: CanonicalParts): string {
  const names = parts.signedHeaders.map((name) => name.toLowerCase()).sort()
  const canonicalHeaders = names.map((name) => `${name}:${(parts.headers[name] ?? '').trim()}\n`).join('')
  return [
    parts.method.toUpperCase(),
    parts.path,
    canonicalQuery(parts.query),
    canonicalHeaders,
    names.join(';'),
    parts.bodySha256
  ].join('\n')
}

export function credentialScope (xDate: string, region: string, service: string): string {
  return `${xDate.slice(0, 8)}/${region}/${service}/request`
}

export function signingKey (secret: string, shortDate: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(secret, shortDate), region), service), 'request')
}

export interface SignatureInput extends CanonicalParts {
  xDate: string
  region: string
  service: string
  secretAccessKey: string
}

export function computeSignature (input: SignatureInput): string {
  const scope = credentialScope(input.xDate, input.region, input.service)
  const stringToSign = [SIGNING_ALGORITHM, input.xDate, scope, sha256Hex(canonicalRequest(input))].join('\n')
  const key = signingKey(input.secretAccessKey, input.xDate.slice(0, 8), input.region, input.service)
  return createHmac('sha256', key).update(stringToSign).digest('hex')
}

/** Host header value as Volcengine signs it: no default port. */
export function signingHost (url: URL): string {
  const defaultPort = (url.protocol === 'https:' && url.port === '443') || (url.protocol === 'http:' && url.port === '80')
  return url.port === '' || defaultPort ? url.hostname : `${url.hostname}:${url.port}`
}

/**
 * Returns the headers to send: Content-Type, Host, X-Date, X-Content-Sha256,
 * X-Security-Token (with an STS token) and Authorization.
 */
export function signRequest (input: SignInput): Record<string, string> {
  const xDate = formatXDate(input.date)
  const bodySha256 = sha256Hex(input.body)
  const headers: Record<string, string> = {
    'content-type': input.contentType,
    host: input.host,
    'x-content-sha256': bodySha256,
    'x-date': xDate
  }
  if (input.credentials.sessionToken) headers['x-security-token'] = input.credentials.sessionToken
  const signedHeaders = Object.keys(headers).sort()
  const signature = computeSignature({
    method: input.method,
    path: input.path,
    query: input.query,
    headers,
    signedHeaders,
    bodySha256,
    xDate,
    region: input.region,
    service: input.service,
    secretAccessKey: input.credentials.secretAccessKey
  })
  const scope = credentialScope(xDate, input.region, input.service)
  headers.authorization = `${SIGNING_ALGORITHM} Credential=${input.credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
  return headers
}
