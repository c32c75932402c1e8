import { test } from 'tap'
import { UpstreamCallError, parseUpstreamResponse } from '../../src/upstream/response.js'
import { toClientError } from '../../src/upstream/outcome.js'

const success = {
  code: 10000,
  data: { algorithm_base_resp: { status_code: 0, status_message: 'Success' }, binary_data_base64: ['aGVsbG8='], image_urls: null },
  message: 'Success',
  request_id: '202405222059450B71689BCB6B527F21C0',
  status: 10000,
  time_elapsed: '6.780796541s'
}

function failure (status: number, body: unknown): UpstreamCallError {
  try {
    parseUpstreamResponse(status, typeof body === 'string' ? body : JSON.stringify(body), 5)
  } catch (error) {
    if (error instanceof UpstreamCallError) return error
    throw error
  }
  throw new Error('expected a failure')
}

test('a business success gives the image and the upstream request id', async (t) => {
  const result = parseUpstreamResponse(200, JSON.stringify(success), 12)
  t.equal(result.imageBase64, 'aGVsbG8=')
  t.equal(result.upstreamRequestId, '202405222059450B71689BCB6B527F21C0')
  t.equal(result.imageUrl, undefined)
})

test('a success with image_urls gives the URL', async (t) => {
  const body = { ...success, data: { ...success.data, binary_data_base64: null, image_urls: ['https://x.example/a.jpg'] } }
  t.equal(parseUpstreamResponse(200, JSON.stringify(body), 1).imageUrl, 'https://x.example/a.jpg')
})

test('business error codes map to the contract', async (t) => {
  const cases: Array<[number, string, string, number]> = [
    [400, '50411', 'CONTENT_REJECTED', 422],
    [400, '50412', 'CONTENT_REJECTED', 422],
    [400, '50413', 'CONTENT_REJECTED', 422],
    [400, '50511', 'CONTENT_REJECTED', 422],
    [400, '50512', 'CONTENT_REJECTED', 422],
    [400, '50518', 'CONTENT_REJECTED', 422],
    [400, '50519', 'CONTENT_REJECTED', 422],
    [429, '50429', 'UPSTREAM_BUSY', 503],
    [429, '50430', 'UPSTREAM_BUSY', 503],
    [500, '50500', 'UPSTREAM_ERROR', 502],
    [500, '50501', 'UPSTREAM_ERROR', 502],
    [400, '50200', 'UPSTREAM_ERROR', 502],
    [400, '50201', 'UPSTREAM_ERROR', 502],
    [400, '50204', 'UPSTREAM_ERROR', 502],
    [400, '50205', 'UPSTREAM_ERROR', 502],
    [400, '50206', 'UPSTREAM_ERROR', 502],
    [400, '50207', 'UPSTREAM_ERROR', 502]
  ]
  for (const [status, code, contractCode, contractStatus] of cases) {
    const error = failure(status, { code: Number(code), message: 'x', request_id: 'r1', data: null })
    t.equal(error.kind, 'business')
    t.equal(error.upstreamCode, code)
    t.equal(error.upstreamRequestId, 'r1')
    const client = toClientError(error) as Error & { code: string, statusCode: number, retryAfter?: number }
    t.equal(client.code, contractCode, code)
    t.equal(client.statusCode, contractStatus, code)
    if (contractCode === 'UPSTREAM_BUSY') t.ok(client.retryAfter, 'throttling carries Retry-After')
  }
})

test('gateway errors are 502 and keep the gateway code for the log', async (t) => {
  const error = failure(401, {
    ResponseMetadata: { RequestId: 'g1', Action: 'CVProcess', Version: '2022-08-31', Service: 'cv', Region: 'cn-north-1', Error: { CodeN: 100010, Code: 'SignatureDoesNotMatch', Message: 'sig' } }
  })
  t.equal(error.kind, 'gateway')
  t.equal(error.upstreamCode, 'SignatureDoesNotMatch')
  t.equal(error.upstreamRequestId, 'g1')
  t.match(toClientError(error), { code: 'UPSTREAM_ERROR', statusCode: 502 })
  t.notMatch(toClientError(error).message, /Signature/, 'the client never sees signing detail')
})

test('a non-JSON 200, a JSON without code and a success without image are malformed', async (t) => {
  t.equal(failure(200, 'not json').kind, 'malformed')
  t.equal(failure(200, { hello: 1 }).kind, 'malformed')
  t.equal(failure(200, { ...success, data: { binary_data_base64: [], image_urls: null } }).kind, 'malformed')
  t.equal(failure(502, '<html>bad gateway</html>').kind, 'http')
  t.match(toClientError(failure(200, 'x')), { code: 'UPSTREAM_ERROR', statusCode: 502 })
})

test('timeouts are 504 and connect failures 502', async (t) => {
  t.match(toClientError(new UpstreamCallError({ kind: 'timeout', code: 'timeout', bodySent: true })), { code: 'UPSTREAM_TIMEOUT', statusCode: 504 })
  t.match(toClientError(new UpstreamCallError({ kind: 'connect', code: 'ECONNREFUSED', bodySent: false })), { code: 'UPSTREAM_ERROR', statusCode: 502 })
})
