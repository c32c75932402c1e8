// CVProcess answers in two shapes: the business one ({ code, message, request_id, data }) and the
// gateway one ({ ResponseMetadata: { Error } }). Both become an UpstreamResult or an UpstreamCallError.

export interface UpstreamResult {
  upstreamRequestId: string | undefined
  /** base64 of the image, when the upstream sent bytes */
  imageBase64: string | undefined
  /** the image's URL, when return_url was asked */
  imageUrl: string | undefined
  ms: number
  /** attempts sent to the upstream for this result, retries included (set by the caller) */
  attempts?: number
}

export type UpstreamFailureKind =
  | 'business' // a CVProcess error code (50411, 50429, 50200...)
  | 'gateway' // ResponseMetadata.Error (signing, access key, action)
  | 'http' // a non-2xx without either shape
  | 'malformed' // 2xx that is not the documented JSON
  | 'timeout' // our per-attempt deadline
  | 'connect' // the connection failed or was reset
  | 'aborted' // our caller gave up
  | 'config' // nothing to sign with

/** Transport errors raised before a connection existed, so before any byte of the request left. */
const NEVER_CONNECTED = new Set([
  'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'
])

interface UpstreamCallErrorInit {
  kind: UpstreamFailureKind
  /** the upstream's code ('50429', 'SignatureDoesNotMatch') or ours ('timeout', 'ECONNRESET') */
  code: string
  httpStatus?: number | undefined
  upstreamRequestId?: string | undefined
  upstreamMessage?: string | undefined
  /** whether the request may have reached the upstream (and so may be billed) */
  bodySent: boolean
  ms?: number
  attempts?: number
  /** the upstream's own Retry-After (throttling), in ms */
  retryAfterMs?: number | undefined
}

export class UpstreamCallError extends Error {
  readonly kind: UpstreamFailureKind
  readonly upstreamCode: string
  readonly httpStatus: number | undefined
  readonly upstreamRequestId: string | undefined
  readonly upstreamMessage: string | undefined
  readonly bodySent: boolean
  readonly ms: number | undefined
  /** attempts sent to the upstream before this failure, retries included (the caller sets it) */
  attempts: number
  /** how long the upstream asked us to wait (its Retry-After header), in ms */
  readonly retryAfterMs: number | undefined

  constructor (init: UpstreamCallErrorInit) {
    super(`upstream ${init.kind} ${init.code}`)
    this.name = 'UpstreamCallError'
    this.kind = init.kind
    this.upstreamCode = init.code
    this.httpStatus = init.httpStatus
    this.upstreamRequestId = init.upstreamRequestId
    this.upstreamMessage = init.upstreamMessage
    this.bodySent = init.bodySent
    this.ms = init.ms
    this.attempts = init.attempts ?? 1
    this.retryAfterMs = init.retryAfterMs
  }

  static fromTransport (error: unknown, state: { timedOut: boolean, aborted: boolean }): UpstreamCallError {
    const code = (error as { code?: string }).code ?? (error as Error).name ?? 'unknown'
    if (state.aborted) return new UpstreamCallError({ kind: 'aborted', code: 'aborted', bodySent: true })
    if (state.timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new UpstreamCallError({ kind: 'timeout', code: 'timeout', bodySent: true })
    }
    // A connect that never succeeded cannot have been billed; a reset mid-call might have been.
    return new UpstreamCallError({ kind: 'connect', code, bodySent: !NEVER_CONNECTED.has(code) })
  }
}

interface BusinessBody {
  code?: unknown
  message?: unknown
  request_id?: unknown
  data?: { binary_data_base64?: unknown, image_urls?: unknown } | null
}

interface GatewayBody {
  ResponseMetadata?: { RequestId?: unknown, Error?: { Code?: unknown, Message?: unknown } }
}

function firstString (value: unknown): string | undefined {
  return Array.isArray(value) && typeof value[0] === 'string' && value[0] !== '' ? value[0] : undefined
}

function asString (value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined
}

/** A Retry-After header (seconds, or an HTTP date) in ms; undefined when absent or unreadable. */
export function retryAfterMsOf (header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

export function parseUpstreamResponse (httpStatus: number, text: string, ms: number, retryAfterMs?: number): UpstreamResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new UpstreamCallError({ kind: httpStatus < 300 ? 'malformed' : 'http', code: `http_${httpStatus}`, httpStatus, bodySent: true, ms, retryAfterMs })
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw new UpstreamCallError({ kind: 'malformed', code: `http_${httpStatus}`, httpStatus, bodySent: true, ms })
  }
  const gateway = (parsed as GatewayBody).ResponseMetadata
  if (gateway?.Error) {
    throw new UpstreamCallError({
      kind: 'gateway',
      code: asString(gateway.Error.Code) ?? `http_${httpStatus}`,
      httpStatus,
      upstreamRequestId: asString(gateway.RequestId),
      upstreamMessage: asString(gateway.Error.Message),
      bodySent: true,
      ms
    })
  }
  const body = parsed as BusinessBody
  const upstreamRequestId = asString(body.request_id)
  if (typeof body.code !== 'number') {
    throw new UpstreamCallError({ kind: httpStatus < 300 ? 'malformed' : 'http', code: `http_${httpStatus}`, httpStatus, upstreamRequestId, bodySent: true, ms })
  }
  if (body.code !== 10000) {
    throw new UpstreamCallError({
      kind: 'business', code: String(body.code), httpStatus, upstreamRequestId, upstreamMessage: asString(body.message), bodySent: true, ms, retryAfterMs
    })
  }
  const imageBase64 = firstString(body.data?.binary_data_base64)
  const imageUrl = firstString(body.data?.image_urls)
  if (!imageBase64 && !imageUrl) {
    throw new UpstreamCallError({ kind: 'malformed', code: 'no_image', httpStatus, upstreamRequestId, bodySent: true, ms })
  }
  return { upstreamRequestId, imageBase64, imageUrl, ms }
}
