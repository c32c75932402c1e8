// What a failed upstream call means for the client: the contract's error for each upstream code.
// Upstream detail (codes, messages, request ids) goes to the log, never into the client's message.
import {
  ContentRejectedError, InternalError, UpstreamBusyError, UpstreamError, UpstreamTimeoutError, withRetryAfter
} from '../errors.js'
import type { UpstreamCallError } from './response.js'
import { UpstreamUnavailable, type UnavailableReason } from './unavailable.js'

/** Moderation and copyright refusals of the input or the output. */
export const CONTENT_REFUSAL_CODES = new Set(['50411', '50412', '50413', '50511', '50512', '50518', '50519'])
/** The account's QPS (50429) and concurrency (50430) limits. */
export const THROTTLING_CODES = new Set(['50429', '50430'])

/** The account's limits, or a 429 without either documented shape (a gateway in front). */
export function isThrottling (error: UpstreamCallError): boolean {
  if (error.kind === 'http') return error.httpStatus === 429
  return error.kind === 'business' && THROTTLING_CODES.has(error.upstreamCode)
}

export function isContentRefusal (error: UpstreamCallError): boolean {
  return error.kind === 'business' && CONTENT_REFUSAL_CODES.has(error.upstreamCode)
}

const UNAVAILABLE_MESSAGES: Record<UnavailableReason, string> = {
  queue_full: 'too many requests are waiting for the stylization service, retry later',
  queue_timeout: 'waited too long for the stylization service, retry later',
  circuit_open: 'the stylization service is failing, retry later',
  shutting_down: 'the service is shutting down, retry later',
  cancelled: 'the request was cancelled before the stylization service was called'
}

export function toClientError (error: UpstreamCallError | UpstreamUnavailable): Error {
  if (error instanceof UpstreamUnavailable) {
    return withRetryAfter(new UpstreamBusyError(UNAVAILABLE_MESSAGES[error.reason]), error.retryAfterMs / 1000)
  }
  if (isContentRefusal(error)) {
    return new ContentRejectedError('the image or prompt was refused by the content checks of the stylization service')
  }
  if (isThrottling(error)) {
    // the upstream's own Retry-After when it sent one
    return withRetryAfter(new UpstreamBusyError('the stylization service is busy, retry later'), (error.retryAfterMs ?? 5000) / 1000)
  }
  switch (error.kind) {
    case 'timeout':
      return new UpstreamTimeoutError('the stylization service did not answer in time')
    case 'config':
      return new InternalError('internal error')
    case 'aborted':
      // cut at the shutdown's last moment: it was sent, and may be billed, so no "retry later"
      if (error.upstreamCode === 'shutdown') {
        return new UpstreamError('the service stopped while the stylization service was working on this request; the call may have been billed')
      }
      return withRetryAfter(new UpstreamBusyError('the request was cancelled before the stylization service answered'), 1)
    default:
      return new UpstreamError('the stylization service failed')
  }
}
