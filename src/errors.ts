// The contract's error codes as @fastify/error classes, and the one handler that renders them.
import createError, { type FastifyErrorConstructor } from '@fastify/error'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import { dropUnreadBody } from './ops/unread-body.js'

function define (code: string, statusCode: number): FastifyErrorConstructor<{ code: string, statusCode: number }, [string]> {
  return createError(code, '%s', statusCode)
}

export const InvalidRequestError = define('INVALID_REQUEST', 400)
export const UnauthorizedError = define('UNAUTHORIZED', 401)
export const ForbiddenError = define('FORBIDDEN', 403)
export const NotFoundError = define('NOT_FOUND', 404)
export const IdempotencyInProgressError = define('IDEMPOTENCY_IN_PROGRESS', 409)
export const JobNotCancellableError = define('JOB_NOT_CANCELLABLE', 409)
export const PayloadTooLargeError = define('PAYLOAD_TOO_LARGE', 413)
export const UnsupportedMediaTypeError = define('UNSUPPORTED_MEDIA_TYPE', 415)
export const InvalidImageError = define('INVALID_IMAGE', 422)
export const IdempotencyKeyReusedError = define('IDEMPOTENCY_KEY_REUSED', 422)
export const ImageUrlRejectedError = define('IMAGE_URL_REJECTED', 422)
export const ImageFetchFailedError = define('IMAGE_FETCH_FAILED', 422)
export const ContentRejectedError = define('CONTENT_REJECTED', 422)
export const RateLimitedError = define('RATE_LIMITED', 429)
export const QuotaExceededError = define('QUOTA_EXCEEDED', 429)
export const InternalError = define('INTERNAL_ERROR', 500)
export const UpstreamError = define('UPSTREAM_ERROR', 502)
export const UpstreamBusyError = define('UPSTREAM_BUSY', 503)
export const OverloadedError = define('OVERLOADED', 503)
export const UpstreamTimeoutError = define('UPSTREAM_TIMEOUT', 504)

const CONTRACT_CODES = new Set([
  'INVALID_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'IDEMPOTENCY_IN_PROGRESS', 'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE', 'INVALID_IMAGE', 'IDEMPOTENCY_KEY_REUSED', 'IMAGE_URL_REJECTED', 'IMAGE_FETCH_FAILED',
  'CONTENT_REJECTED', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'INTERNAL_ERROR', 'UPSTREAM_ERROR', 'UPSTREAM_BUSY',
  'OVERLOADED', 'UPSTREAM_TIMEOUT', 'JOB_NOT_CANCELLABLE'
])

export const ACCEPTED_FORMATS_MESSAGE = 'accepted image formats are JPEG, PNG and WebP'

/** Attach a Retry-After (seconds) that the handler sends as a header. */
export function withRetryAfter<E extends Error> (error: E, seconds: number): E & { retryAfter: number } {
  return Object.assign(error, { retryAfter: Math.max(1, Math.ceil(seconds)) })
}

export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
  requestId: string
}

/** Maps fastify's and its plugins' own errors onto the contract's codes. */
function toContractError (error: FastifyError, bodyLimit: number | undefined): FastifyError {
  if (CONTRACT_CODES.has(error.code)) return error
  if (error.validation) return new InvalidRequestError(error.message)
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new UnsupportedMediaTypeError('the body must be multipart/form-data or application/json')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimit === undefined ? 'the request body is too large' : `the request body is larger than ${bodyLimit} bytes`)
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new PayloadTooLargeError('the request body is too large')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_PROTO_VIOLATION':
      return new InvalidRequestError('the request body is not valid JSON')
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new InvalidRequestError('the request is malformed')
  }
  return new InternalError('internal error')
}

export function errorBody (error: FastifyError, requestId: string): ErrorBody {
  const statusCode = error.statusCode ?? 500
  return {
    statusCode,
    code: error.code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: error.message,
    requestId
  }
}

export function registerErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler(async (raw: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // Refused before its body was all read (auth, rate limit, busy, limits): see ops/unread-body.ts.
    dropUnreadBody(request.raw, request.server.server)
    const error = toContractError(raw, request.routeOptions?.bodyLimit)
    const statusCode = error.statusCode ?? 500
    // request.completion is null only when a hook failed before the request context was set
    if (request.completion === null) {
      request.log.error({ err: raw }, 'request failed')
    } else {
      // the facts go on the request's one completion line (ops/request-context.ts)
      const facts = request.completion
      facts.errorCode = error.code
      facts.errorMessage = error.message
      if (raw !== error) facts.reason = raw.code
      if (statusCode >= 500 && error.code === 'INTERNAL_ERROR') facts.err = raw
    }
    const retryAfter = (raw as { retryAfter?: number }).retryAfter ?? (error as { retryAfter?: number }).retryAfter
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter))
    return reply.code(statusCode).send(errorBody(error, request.id))
  })
  const noRoute = async (request: FastifyRequest): Promise<never> => {
    throw new NotFoundError(`no route ${request.method} ${request.url.split('?')[0]}`)
  }
  // answered before the body is read, so that a client waiting for `100 Continue` is not left waiting
  // (ops/expect-continue.ts) and nobody uploads a photo to a path that does not exist
  app.addHook('preParsing', async (request) => { if (request.is404) await noRoute(request) })
  app.setNotFoundHandler(noRoute)
}
