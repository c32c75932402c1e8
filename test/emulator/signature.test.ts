import { Signer } from '@volcengine/openapi'
import { test } from 'tap'
import { request } from 'undici'
import { computeSignature, sha256Hex } from '../../src/upstream/sign.js'
import { callEmulator, CVPROCESS_QUERY, cvBody, makeJpeg, startEmulator } from '../fixtures/emulator-client.js'

const FIFTEEN_MINUTES = 15 * 60 * 1000
// A body that would pass validation if it reached it: the signature tests need no image.
const body = { req_key: 'img2img_pastel_boys_style_usage', prompt: 'statue', image_urls: ['http://127.0.0.1:9/x.jpg'] }

function gatewayError (json: any): { CodeN: number, Code: string, Message: string } {
  return json.ResponseMetadata.Error
}

test('a call signed by the proxy signer is accepted and counted', async (t) => {
  const { app, origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600)))
  t.equal(response.status, 200)
  t.equal(app.emulatorStats.calls, 1)
})

test('a call signed by the official @volcengine/openapi Signer is accepted', async (t) => {
  const { origin } = await startEmulator(t)
  const payload = JSON.stringify(cvBody(await makeJpeg(800, 600)))
  const signer = new Signer({
    region: 'cn-north-1',
    method: 'POST',
    pathname: '/',
    params: { ...CVPROCESS_QUERY },
    headers: { 'Content-Type': 'application/json' },
    body: payload
  }, 'cv')
  signer.addAuthorization({ accessKeyId: 'AKLTdev', secretKey: 'dev-secret' })
  const headers = signer.request.headers as Record<string, string>
  t.notMatch(headers.Authorization, /SignedHeaders=content-type;host;/, 'the SDK chose its own header set')
  const response = await request(`${origin}/?Action=CVProcess&Version=2022-08-31`, { method: 'POST', headers, body: payload })
  t.equal(response.statusCode, 200)
  t.equal(((await response.body.json()) as { code: number }).code, 10000)
})

test('the official Signer\'s whitespace collapsing in header values is accepted', async (t) => {
  const { origin } = await startEmulator(t)
  const payload = JSON.stringify(cvBody(await makeJpeg(800, 600)))
  const signer = new Signer({
    region: 'cn-north-1',
    method: 'POST',
    params: { ...CVPROCESS_QUERY },
    headers: { 'Content-Type': 'application/json', 'X-Custom': 'two  spaces' },
    body: payload
  }, 'cv')
  signer.addAuthorization({ accessKeyId: 'AKLTdev', secretKey: 'dev-secret' })
  const response = await request(`${origin}/?Action=CVProcess&Version=2022-08-31`, {
    method: 'POST', headers: signer.request.headers as Record<string, string>, body: payload
  })
  t.equal(response.statusCode, 200)
  await response.body.dump()
})

test('a wrong secret is 401 SignatureDoesNotMatch in the gateway shape, and not counted', async (t) => {
  const { app, origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { credentials: { accessKeyId: 'AKLTdev', secretAccessKey: 'other' } })
  t.equal(response.status, 401)
  t.match(response.json, {
    ResponseMetadata: {
      RequestId: /^\d{14}[0-9A-F]{20}$/,
      Action: 'CVProcess',
      Version: '2022-08-31',
      Service: 'cv',
      Region: 'cn-north-1',
      Error: { CodeN: 100010, Code: 'SignatureDoesNotMatch', Message: /signature/ }
    }
  })
  t.equal(app.emulatorStats.calls, 0)
})

test('a body changed after signing is SignatureDoesNotMatch', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, {
    sendBody: JSON.stringify({ ...body, prompt: 'other' }),
    headers: ({ 'x-content-sha256': _dropped, ...rest }) => rest
  })
  t.equal(response.status, 401)
  t.equal(gatewayError(response.json).Code, 'SignatureDoesNotMatch')
})

test('an X-Content-Sha256 that does not match the body is refused', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { sendBody: JSON.stringify({ ...body, prompt: 'other' }) })
  t.equal(response.status, 401)
  t.match(gatewayError(response.json), { Code: 'SignatureDoesNotMatch', Message: /X-Content-Sha256/ })
})

test('a changed Signature value is SignatureDoesNotMatch', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, {
    headers: (signed) => ({ ...signed, authorization: signed.authorization?.replace(/Signature=[0-9a-f]{4}/, 'Signature=0000') ?? '' })
  })
  t.equal(response.status, 401)
  t.equal(gatewayError(response.json).Code, 'SignatureDoesNotMatch')
})

test('a signature for another region is SignatureDoesNotMatch', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { region: 'cn-beijing' })
  t.equal(response.status, 401)
  t.equal(gatewayError(response.json).Code, 'SignatureDoesNotMatch')
})

test('a signature for another service is 404 ServiceNotFound', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { service: 'iam' })
  t.equal(response.status, 404)
  t.match(gatewayError(response.json), { CodeN: 100007, Code: 'ServiceNotFound' })
})

test('an unknown access key is 401 InvalidAccessKey', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { credentials: { accessKeyId: 'AKLTother', secretAccessKey: 'dev-secret' } })
  t.equal(response.status, 401)
  t.match(gatewayError(response.json), { CodeN: 100009, Code: 'InvalidAccessKey' })
  t.notMatch(response.text, 'AKLTother', 'the key id is not echoed')
})

test('an X-Date older than 15 minutes is 403 InvalidTimestamp', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { date: new Date(Date.now() - FIFTEEN_MINUTES - 60_000) })
  t.equal(response.status, 403)
  t.match(gatewayError(response.json), { CodeN: 100006, Code: 'InvalidTimestamp' })
})

test('an X-Date from the future beyond 15 minutes is InvalidTimestamp, within it is fine', async (t) => {
  const { origin } = await startEmulator(t)
  const future = await callEmulator(origin, body, { date: new Date(Date.now() + FIFTEEN_MINUTES + 60_000) })
  t.equal(future.status, 403)
  const near = await callEmulator(origin, cvBody(await makeJpeg(800, 600)), { date: new Date(Date.now() - 10 * 60_000) })
  t.equal(near.status, 200)
})

test('a malformed X-Date is InvalidTimestamp', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { headers: (signed) => ({ ...signed, 'x-date': '2024-01-01' }) })
  t.equal(response.status, 403)
  t.equal(gatewayError(response.json).Code, 'InvalidTimestamp')
})

test('no X-Date is 400 MissingRequestInfo', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { headers: ({ 'x-date': _dropped, ...rest }) => rest })
  t.equal(response.status, 400)
  t.match(gatewayError(response.json), { CodeN: 100004, Code: 'MissingRequestInfo' })
})

test('no Authorization is 401 MissingAuthenticationToken', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, { headers: ({ authorization: _dropped, ...rest }) => rest })
  t.equal(response.status, 401)
  t.match(gatewayError(response.json), { CodeN: 100003, Code: 'MissingAuthenticationToken' })
})

test('an Authorization of another scheme or missing parts is 400 InvalidAuthorization', async (t) => {
  const { origin } = await startEmulator(t)
  for (const authorization of ['Bearer abc', 'HMAC-SHA256 Credential=AKLTdev/20240101/cn-north-1/cv/request, Signature=00']) {
    const response = await callEmulator(origin, body, { headers: (signed) => ({ ...signed, authorization }) })
    t.equal(response.status, 400)
    t.equal(gatewayError(response.json).Code, 'InvalidAuthorization')
  }
})

test('a credential that is not AK/date/region/service/request is 400 InvalidCredential', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, body, {
    headers: (signed) => ({ ...signed, authorization: signed.authorization?.replace('/request,', '/other,') ?? '' })
  })
  t.equal(response.status, 400)
  t.equal(gatewayError(response.json).Code, 'InvalidCredential')
})

test('with a session token configured, a missing or wrong X-Security-Token is 401 InvalidSecretToken', async (t) => {
  const { origin } = await startEmulator(t, { sessionToken: 'STS-token' })
  const missing = await callEmulator(origin, body)
  t.equal(missing.status, 401)
  t.match(gatewayError(missing.json), { CodeN: 100026, Code: 'InvalidSecretToken' })
  const wrong = await callEmulator(origin, body, { credentials: { accessKeyId: 'AKLTdev', secretAccessKey: 'dev-secret', sessionToken: 'other' } })
  t.equal(wrong.status, 401)
  t.equal(gatewayError(wrong.json).Code, 'InvalidSecretToken')
  t.notMatch(wrong.text, 'STS-token', 'the expected token is not echoed')
})

test('with a session token configured, the right X-Security-Token is accepted', async (t) => {
  const { origin } = await startEmulator(t, { sessionToken: 'STS-token' })
  const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600)), {
    credentials: { accessKeyId: 'AKLTdev', secretAccessKey: 'dev-secret', sessionToken: 'STS-token' }
  })
  t.equal(response.status, 200)
})

test('no Action or no Version is 400 MissingParameter', async (t) => {
  const { origin } = await startEmulator(t)
  const noAction = await callEmulator(origin, body, { query: { Version: '2022-08-31' } })
  t.equal(noAction.status, 400)
  t.match(gatewayError(noAction.json), { CodeN: 100002, Code: 'MissingParameter', Message: /Action/ })
  const noVersion = await callEmulator(origin, body, { query: { Action: 'CVProcess' } })
  t.equal(noVersion.status, 400)
  t.match(gatewayError(noVersion.json), { Code: 'MissingParameter', Message: /Version/ })
})

test('another Action or Version is 404 InvalidActionOrVersion, after the signature', async (t) => {
  const { app, origin } = await startEmulator(t)
  const action = await callEmulator(origin, body, { query: { Action: 'CVSync2AsyncSubmitTask', Version: '2022-08-31' } })
  t.equal(action.status, 404)
  t.match(gatewayError(action.json), { CodeN: 100008, Code: 'InvalidActionOrVersion' })
  t.equal(action.json.ResponseMetadata.Action, 'CVSync2AsyncSubmitTask')
  const version = await callEmulator(origin, body, { query: { Action: 'CVProcess', Version: '2020-01-01' } })
  t.equal(version.status, 404)
  t.equal(app.emulatorStats.calls, 0)
})

test('a signature that does not cover x-date is refused 400 InvalidAuthorization, even when it is right', async (t) => {
  const { app, origin } = await startEmulator(t)
  const payload = JSON.stringify(body)
  const now = new Date()
  const xDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const host = new URL(origin).host
  const headers = { 'content-type': 'application/json', host, 'x-content-sha256': sha256Hex(payload), 'x-date': xDate }
  const signedHeaders = ['content-type', 'host', 'x-content-sha256']
  const signature = computeSignature({
    method: 'POST',
    path: '/',
    query: { Action: 'CVProcess', Version: '2022-08-31' },
    headers: Object.fromEntries(signedHeaders.map((name) => [name, headers[name as keyof typeof headers]])),
    signedHeaders,
    bodySha256: sha256Hex(payload),
    xDate,
    region: 'cn-north-1',
    service: 'cv',
    secretAccessKey: 'dev-secret'
  })
  const authorization = `HMAC-SHA256 Credential=AKLTdev/${xDate.slice(0, 8)}/cn-north-1/cv/request, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`
  const response = await request(`${origin}/?Action=CVProcess&Version=2022-08-31`, { method: 'POST', headers: { ...headers, authorization }, body: payload })
  t.equal(response.statusCode, 400)
  t.match(gatewayError(await response.body.json()), { Code: 'InvalidAuthorization', Message: /x-date/ })
  t.equal(app.emulatorStats.calls, 0)
})
