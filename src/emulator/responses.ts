// CVProcess's business answers: the success body, and the error body with its HTTP status.
import { randomBytes } from 'node:crypto'

export const BUSINESS_ERRORS = {
  50200: { status: 400, message: 'Invalid Args' },
  50201: { status: 400, message: 'Missing Args' },
  50204: { status: 400, message: 'Json Parse Error' },
  50205: { status: 400, message: 'Image Size Exceed Limit' },
  50206: { status: 400, message: 'Image Empty' },
  50207: { status: 400, message: 'Image Decode Error' },
  50411: { status: 400, message: 'Pre Img Risk Not Pass' },
  50412: { status: 400, message: 'Pre Text Risk Not Pass' },
  50413: { status: 400, message: 'Pre Text Copyright Risk Not Pass' },
  50511: { status: 400, message: 'Post Img Risk Not Pass' },
  50512: { status: 400, message: 'Post Text Risk Not Pass' },
  50518: { status: 400, message: 'Pre Img Copyright Risk Not Pass' },
  50519: { status: 400, message: 'Post Img Copyright Risk Not Pass' },
  50429: { status: 429, message: 'Request Has Reached API Limit, Please Try Later' },
  50430: { status: 429, message: 'Request Has Reached API Concurrent Limit, Please Try Later' },
  50500: { status: 500, message: 'Internal Error' },
  50501: { status: 500, message: 'Internal RPC Error' }
} as const

export type BusinessErrorCode = keyof typeof BUSINESS_ERRORS

/** A refusal of the business API, thrown inside the emulator and rendered by the route. */
export class BusinessError extends Error {
  readonly code: BusinessErrorCode
  constructor (code: BusinessErrorCode, detail?: string) {
    super(detail === undefined ? BUSINESS_ERRORS[code].message : `${BUSINESS_ERRORS[code].message}: ${detail}`)
    this.code = code
  }
}

/** Like the service's ids: UTC "YYYYMMDDHHMMSS" and 20 upper-case hex digits. */
export function newRequestId (now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14)
  return stamp + randomBytes(10).toString('hex').toUpperCase()
}

/** Seconds since `startedAt` (a performance.now() value), formatted like "6.780796541s". */
export function timeElapsed (startedAt: number): string {
  return `${((performance.now() - startedAt) / 1000).toFixed(9)}s`
}

export interface BusinessErrorBody {
  code: number
  message: string
  request_id: string
  data: null
  status: number
  time_elapsed: string
}

export function businessErrorBody (error: BusinessError, requestId: string, startedAt: number): BusinessErrorBody {
  return { code: error.code, message: error.message, request_id: requestId, data: null, status: error.code, time_elapsed: timeElapsed(startedAt) }
}

export interface SuccessBody {
  code: 10000
  data: {
    algorithm_base_resp: { status_code: 0, status_message: 'Success' }
    binary_data_base64: string[] | null
    image_urls: string[] | null
  }
  message: 'Success'
  request_id: string
  status: 10000
  time_elapsed: string
}

export function successBody (result: { base64: string } | { url: string }, requestId: string, startedAt: number): SuccessBody {
  return {
    code: 10000,
    data: {
      algorithm_base_resp: { status_code: 0, status_message: 'Success' },
      binary_data_base64: 'base64' in result ? [result.base64] : null,
      image_urls: 'url' in result ? [result.url] : null
    },
    message: 'Success',
    request_id: requestId,
    status: 10000,
    time_elapsed: timeElapsed(startedAt)
  }
}
