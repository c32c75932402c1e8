// POST /stylize end to end: the proxy on loopback against the emulator and a recording upstream.
import { test } from 'tap'
import sharp from 'sharp'
import { FormData, request } from 'undici'
import { REQ_KEY, SEED_PROMPT } from '../../src/stylize/presets.js'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, startRecordingUpstream } from '../fixtures/harness.js'

const WEB = DEFAULT_KEYS[0]!.key
const INTERNAL = DEFAULT_KEYS[1]!.key
const SOFT_ONLY = DEFAULT_KEYS[2]!.key
const DISABLED = DEFAULT_KEYS[3]!.key

const auth = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` })

async function postJson (url: string, body: unknown, headers: Record<string, string> = auth(WEB)) {
  const response = await request(`${url}/stylize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
  const buffer = Buffer.from(await response.body.arrayBuffer())
  const text = buffer.toString('utf8')
  let json: Record<string, unknown> = {}
  try { json = JSON.parse(text) } catch {}
  return { status: response.statusCode, headers: response.headers, json, buffer }
}

test('JSON base64 through the emulator: a stylized JPEG at long_resolution with both request ids', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const input = await photo(1600, 1200)
  const res = await postJson(proxy.url, { image_base64: input.toString('base64') }, { ...auth(WEB), 'x-request-id': 'client-req.42' })
  t.equal(res.status, 200)
  t.equal(res.headers['x-request-id'], 'client-req.42')
  t.equal(res.json.request_id, 'client-req.42')
  t.equal(res.json.preset, 'angel')
  t.equal(res.json.mime_type, 'image/jpeg')
  t.type(res.json.upstream_request_id, 'string')
  t.equal(res.headers['x-upstream-request-id'], res.json.upstream_request_id)
  t.notMatch(String(res.json.image_base64), /^data:/)
  const meta = await sharp(Buffer.from(String(res.json.image_base64), 'base64')).metadata()
  t.equal(meta.format, 'jpeg')
  t.equal(Math.max(meta.width ?? 0, meta.height ?? 0), 704)
  t.equal(emulator.app.emulatorStats.calls, 1)
})

test('multipart upload with Accept: image/jpeg answers the bytes', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const form = new FormData()
  form.append('preset', 'angel-soft')
  form.append('image', new Blob([await photo(1200, 900)], { type: 'application/octet-stream' }), 'photo.bin')
  form.append('long_resolution', '512')
  const response = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { ...auth(WEB), accept: 'image/jpeg' }, body: form })
  const bytes = Buffer.from(await response.body.arrayBuffer())
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'image/jpeg')
  t.type(response.headers['x-upstream-request-id'], 'string')
  const meta = await sharp(bytes).metadata()
  t.equal(Math.max(meta.width ?? 0, meta.height ?? 0), 512)
})

test('return_url answers an image_url that serves the result', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const res = await postJson(proxy.url, { image_base64: `data:image/jpeg;base64,${(await photo(1024, 768)).toString('base64')}`, return_url: true })
  t.equal(res.status, 200)
  t.type(res.json.image_url, 'string')
  t.notOk('image_base64' in res.json)
  t.notOk('mime_type' in res.json)
  const image = await request(String(res.json.image_url))
  t.equal(image.statusCode, 200)
  t.equal((await sharp(Buffer.from(await image.body.arrayBuffer())).metadata()).format, 'jpeg')
})

test('the upstream receives the preset, the client overrides and the server req_key, signed', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const image = (await photo(1024, 768)).toString('base64')

  t.equal((await postJson(proxy.url, { image_base64: image })).status, 200)
  t.equal((await postJson(proxy.url, { image_base64: image, preset: 'angel-soft', seed: 7, strength: 0.5, logo_info: { add_logo: true, position: 2 } })).status, 200)
  t.equal((await postJson(proxy.url, { image_base64: image, prompt: 'a marble bust' }, auth(INTERNAL))).status, 200)
  t.equal(upstream.requests.length, 3)

  const [angel, soft, prompted] = upstream.requests.map((r) => r.json ?? {})
  t.match(upstream.requests[0]!.url, /^\/\?Action=CVProcess&Version=2022-08-31$/)
  t.same({ ...angel, binary_data_base64: undefined }, {
    req_key: REQ_KEY, prompt: SEED_PROMPT, strength: 0.6, seed: -1, scale: 8, ddim_steps: 20, lora_multipers: {}, clip_skip: 1, canny_weight: 0.8, i2i_keep_texture: 1, long_resolution: 704, id_scale: 0, binary_data_base64: undefined
  })
  t.equal((angel!.binary_data_base64 as string[]).length, 1)
  t.notMatch((angel!.binary_data_base64 as string[])[0], /^data:/)
  t.notOk('return_url' in angel!, 'return_url only when asked')
  t.match(soft, { strength: 0.5, seed: 7, scale: 7, ddim_steps: 25, clip_skip: 2, id_scale: 0.5, logo_info: { add_logo: true, position: 2 }, lora_multipers: { Colorwater_v4: 0.2 } })
  t.equal(prompted!.prompt, 'a marble bust')

  const headers = upstream.requests[0]!.headers
  t.match(headers.authorization, /^HMAC-SHA256 Credential=AKLTtestharness\/\d{8}\/cn-north-1\/cv\/request, SignedHeaders=content-type;host;x-content-sha256;x-date, Signature=[0-9a-f]{64}$/)
  t.match(headers['x-date'], /^\d{8}T\d{6}Z$/)
  t.equal(headers['content-type'], 'application/json')
})

test('refusals answer the contract error and never reach the upstream', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const image = (await photo(1024, 768)).toString('base64')
  const gif = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64').toString('base64')
  const cases: Array<[string, unknown, Record<string, string>, number, string]> = [
    ['no key', { image_base64: image }, {}, 401, 'UNAUTHORIZED'],
    ['unknown key', { image_base64: image }, auth('spk_nope'), 401, 'UNAUTHORIZED'],
    ['disabled key', { image_base64: image }, auth(DISABLED), 401, 'UNAUTHORIZED'],
    ['preset not allowed', { image_base64: image }, auth(SOFT_ONLY), 403, 'FORBIDDEN'],
    ['prompt without allowPrompt', { image_base64: image, prompt: 'x' }, auth(WEB), 403, 'FORBIDDEN'],
    ['unknown preset', { image_base64: image, preset: 'nope' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['a preset named after an Object member', { image_base64: image, preset: 'constructor' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['a preset named __proto__', { image_base64: image, preset: '__proto__' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['a preset named toString', { image_base64: image, preset: 'toString' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['unknown field', { image_base64: image, strenght: 0.5 }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['req_key field', { image_base64: image, req_key: 'other' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['strength out of range', { image_base64: image, strength: 1.5 }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['strength zero', { image_base64: image, strength: 0 }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['a string for a number', { image_base64: image, scale: '8' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['ddim_steps not an integer', { image_base64: image, ddim_steps: 2.5 }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['clip_skip 4', { image_base64: image, clip_skip: 4 }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['logo_info unknown field', { image_base64: image, logo_info: { add_logo: true, size: 3 } }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['no image', { preset: 'angel' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['two images', { image_base64: image, image_url: 'https://example.com/a.jpg' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['not base64', { image_base64: '###' }, auth(WEB), 400, 'INVALID_REQUEST'],
    ['a GIF', { image_base64: gif }, auth(WEB), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['a body that is not an object', [1, 2], auth(WEB), 400, 'INVALID_REQUEST']
  ]
  for (const [name, body, headers, status, code] of cases) {
    const res = await postJson(proxy.url, body, headers)
    t.equal(res.status, status, name)
    t.equal(res.json.code, code, name)
    t.equal(res.json.statusCode, status, name)
    t.type(res.json.message, 'string', name)
    t.equal(res.json.requestId, res.headers['x-request-id'], name)
  }
  const plain = await request(`${proxy.url}/stylize`, { method: 'POST', headers: { ...auth(WEB), 'content-type': 'text/plain' }, body: 'hello' })
  t.equal(plain.statusCode, 415)
  t.match(await plain.body.json(), { code: 'UNSUPPORTED_MEDIA_TYPE' })
  t.equal(upstream.requests.length, 0, 'nothing reached the upstream')
})

test('X-API-Key works like Bearer', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const res = await postJson(proxy.url, { image_base64: (await photo(1024, 768)).toString('base64') }, { 'x-api-key': WEB })
  t.equal(res.status, 200)
})

test('multipart fields are parsed strictly, before or after the file', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const image = await photo(1024, 768)
  const send = async (fields: Array<[string, string]>, after: Array<[string, string]> = []) => {
    const form = new FormData()
    for (const [name, value] of fields) form.append(name, value)
    form.append('image', new Blob([image]), 'a.jpg')
    for (const [name, value] of after) form.append(name, value)
    const response = await request(`${proxy.url}/stylize`, { method: 'POST', headers: auth(WEB), body: form })
    return { status: response.statusCode, json: await response.body.json() as Record<string, unknown> }
  }
  t.equal((await send([['strength', '0.4']], [['lora_multipers', '{"Colorwater_v4":0.3}'], ['return_url', 'false']])).status, 200)
  t.match(upstream.requests[0]!.json, { strength: 0.4, lora_multipers: { Colorwater_v4: 0.3 } })
  t.match(await send([['strength', 'abc']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['return_url', 'yes']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['lora_multipers', '{']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['colour', 'red']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['seed', '1'], ['seed', '2']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.equal(upstream.requests.length, 1)
})

test('upstream failures map to the contract and never leak upstream detail', async (t) => {
  const answers: Array<{ status: number, body: unknown }> = [
    { status: 400, body: { code: 50411, message: 'Input image risk', request_id: 'u1', data: null } },
    { status: 401, body: { ResponseMetadata: { RequestId: 'u2', Action: 'CVProcess', Version: '2022-08-31', Service: 'cv', Region: 'cn-north-1', Error: { CodeN: 100010, Code: 'SignatureDoesNotMatch', Message: 'The request signature we calculated does not match' } } } },
    { status: 200, body: 'this is not json' },
    { status: 400, body: { code: 50207, message: 'image decode error', request_id: 'u4', data: null } }
  ]
  const upstream = await startRecordingUpstream(t, () => answers.shift() ?? { status: 500, body: {} })
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { UPSTREAM_RETRIES: '0' } })
  const image = (await photo(1024, 768)).toString('base64')
  const expected: Array<[number, string]> = [[422, 'CONTENT_REJECTED'], [502, 'UPSTREAM_ERROR'], [502, 'UPSTREAM_ERROR'], [502, 'UPSTREAM_ERROR']]
  for (const [status, code] of expected) {
    const res = await postJson(proxy.url, { image_base64: image })
    t.equal(res.status, status, code)
    t.equal(res.json.code, code)
    t.notMatch(JSON.stringify(res.json), /Signature|decode|risk|u2|50411/)
  }
})

test('a hanging upstream is answered 504 within the attempt deadline', async (t) => {
  const emulator = await startEmulator(t, { faults: [{ name: 'hang', probability: 1 }] })
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { UPSTREAM_TIMEOUT_MS: '400', UPSTREAM_RETRIES: '0' } })
  const started = Date.now()
  const res = await postJson(proxy.url, { image_base64: (await photo(1024, 768)).toString('base64') })
  t.equal(res.status, 504)
  t.equal(res.json.code, 'UPSTREAM_TIMEOUT')
  t.ok(Date.now() - started < 3000, 'answered soon after the deadline')
})

test('logs: one completion line with the facts, and no key, secret or image bytes anywhere', async (t) => {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const image = (await photo(1024, 768)).toString('base64')
  t.equal((await postJson(proxy.url, { image_base64: image }, { ...auth(WEB), 'x-request-id': 'log-check' })).status, 200)
  t.equal((await postJson(proxy.url, { image_base64: image }, auth('spk_wrong_key_value'))).status, 401)
  const completion = proxy.logs.filter((line) => line.msg === 'request completed' && line.requestId === 'log-check')
  t.equal(completion.length, 1)
  t.match(completion[0], { keyId: 'web-app', preset: 'angel', statusCode: 200, upstreamCode: '10000', bytesIn: Number, bytesUp: Number, bytesOut: Number, upstreamRequestId: String, upstreamMs: Number, ms: Number })
  const text = proxy.logText()
  for (const secret of [WEB, 'spk_wrong_key_value', 'harness-secret', image.slice(0, 200)]) {
    t.notOk(text.includes(secret), 'the log holds no secret or image bytes')
  }
})

test('unsafe client request ids are replaced', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const res = await request(`${proxy.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } })
  await res.body.dump()
  t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
})

test('multipart limits: one file named image, bounded; the connection stays usable after a refusal', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, env: { MAX_UPLOAD_BYTES: '300000' } })
  const small = await photo(1024, 768, { quality: 60 })
  const big = await photo(2000, 1500, { quality: 95 })
  t.ok(small.length < 300000 && big.length > 300000, 'fixture sizes straddle the limit')
  const send = async (files: Array<[string, Buffer]>, fields: Array<[string, string]> = []) => {
    const form = new FormData()
    for (const [name, value] of fields) form.append(name, value)
    for (const [name, bytes] of files) form.append(name, new Blob([bytes]), `${name}.jpg`)
    const response = await request(`${proxy.url}/stylize`, { method: 'POST', headers: auth(WEB), body: form })
    return { status: response.statusCode, json: await response.body.json() as Record<string, unknown> }
  }
  t.match(await send([['image', big]]), { status: 413, json: { code: 'PAYLOAD_TOO_LARGE', message: 'the image is larger than 300000 bytes' } })
  t.match(await send([['image', small], ['image', small]]), { status: 413, json: { code: 'PAYLOAD_TOO_LARGE', message: /one file is accepted/ } })
  t.match(await send([['photo', small]]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['image', small]], [['image_base64', 'abcd']]), { status: 400, json: { code: 'INVALID_REQUEST' } })
  t.match(await send([['image', small]], [['prompt', 'x'.repeat(70 * 1024)]]), { status: 413, json: { code: 'PAYLOAD_TOO_LARGE' } })
  t.match(await send([], [['image_url', 'ftp://example.com/a.jpg']]), { status: 422, json: { code: 'IMAGE_URL_REJECTED' } })
  t.match(await send([['image', small]]), { status: 200 })
  const tooBig = await postJson(proxy.url, { image_base64: big.toString('base64') })
  t.match(tooBig, { status: 413, json: { code: 'PAYLOAD_TOO_LARGE', message: /larger than \d+ bytes/ } })
  t.equal(upstream.requests.length, 1, 'only the good request reached the upstream')
})

test('an object field sent as an application/json part (swagger-ui\'s way) is a field; left empty it is skipped', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url })
  const send = async (lora: string) => {
    const form = new FormData()
    form.append('image', new Blob([await photo(1024, 768)]), 'photo.jpg')
    form.append('lora_multipers', new Blob([lora], { type: 'application/json' }))
    const response = await request(`${proxy.url}/stylize`, { method: 'POST', headers: auth(WEB), body: form })
    return { status: response.statusCode, json: await response.body.json() as Record<string, unknown> }
  }
  t.equal((await send('')).status, 200, 'an empty JSON part, as when the field is cleared')
  t.same(upstream.requests.at(-1)?.json?.lora_multipers, {}, "the preset's value")
  t.equal((await send('{"Colorwater_v4":0.3}')).status, 200)
  t.same(upstream.requests.at(-1)?.json?.lora_multipers, { Colorwater_v4: 0.3 })
  t.match(await send('not json'), { status: 400, json: { code: 'INVALID_REQUEST' } })
})
