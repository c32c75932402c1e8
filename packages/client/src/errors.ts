// What a failed call throws: the proxy's own error code (the contract's), or one of three of the client's.

/** The proxy's error codes (its contract), with the HTTP status each comes with. */
export const CONTRACT_ERROR_CODES = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_IN_PROGRESS: 409,
  JOB_NOT_CANCELLABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_IMAGE: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  IMAGE_URL_REJECTED: 422,
  IMAGE_FETCH_FAILED: 422,
  CONTENT_REJECTED: 422,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  UPSTREAM_ERROR: 502,
  UPSTREAM_BUSY: 503,
  OVERLOADED: 503,
  UPSTREAM_TIMEOUT: 504
} as const

export type ContractErrorCode = keyof typeof CONTRACT_ERROR_CODES

/**
 * TIMEOUT: the client's own deadline passed; NETWORK_ERROR: no answer (refused, reset, DNS);
 * HTTP_ERROR: an answer that is not the proxy's error shape (a load balancer's 502 page, say).
 */
export type ClientErrorCode = 'TIMEOUT' | 'NETWORK_ERROR' | 'HTTP_ERROR'

export type StylizeErrorCode = ContractErrorCode | ClientErrorCode

export interface StylizeErrorDetails {
  code: StylizeErrorCode
  message: string
  /** the HTTP status, when the proxy (or something in front of it) answered */
  statusCode?: number | undefined
  /** the proxy's X-Request-Id: quote it when asking about a failed call */
  requestId?: string | undefined
  /** seconds to wait before retrying, from Retry-After (429, 503, 409) */
  retryAfter?: number | undefined
  cause?: unknown
}

export class StylizeError extends Error {
  override readonly name = 'StylizeError'
  readonly code: StylizeErrorCode
  readonly statusCode: number | undefined
  readonly requestId: string | undefined
  readonly retryAfter: number | undefined

  constructor (details: StylizeErrorDetails) {
    super(details.message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = details.code
    this.statusCode = details.statusCode
    this.requestId = details.requestId
    this.retryAfter = details.retryAfter
  }
}

/** Retry-After as seconds: a number of seconds, or an HTTP date. */
export function parseRetryAfter (value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined || text.trim() === '') return undefined
  if (/^\d+$/.test(text.trim())) return Number(text.trim())
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000))
}

/** The proxy's error body, when the answer has its shape. */
export function contractError (statusCode: number, text: string, headers: Record<string, string | string[] | undefined>): StylizeError {
  const requestId = headerValue(headers['x-request-id'])
  const retryAfter = parseRetryAfter(headers['retry-after'])
  let body: { code?: unknown, message?: unknown, requestId?: unknown } | undefined
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    body = undefined
  }
  if (typeof body?.code === 'string' && Object.hasOwn(CONTRACT_ERROR_CODES, body.code)) {
    return new StylizeError({
      code: body.code as ContractErrorCode,
      message: typeof body.message === 'string' ? body.message : body.code,
      statusCode,
      requestId: typeof body.requestId === 'string' ? body.requestId : requestId,
      retryAfter
    })
  }
  return new StylizeError({ code: 'HTTP_ERROR', message: `the proxy answered ${statusCode} without its error body`, statusCode, requestId, retryAfter })
}

export function headerValue (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
