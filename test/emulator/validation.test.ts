import sharp from 'sharp'
import { test, type Test } from 'tap'
import { callEmulator, cvBody, makeJpeg, PROMPT, REQ_KEY, startEmulator } from '../fixtures/emulator-client.js'

async function expectRefusal (t: Test, origin: string, body: unknown, code: number, message?: RegExp): Promise<void> {
  const response = await callEmulator(origin, body)
  t.equal(response.status, 400, `HTTP 400 for ${code}`)
  t.match(response.json, { code, status: code, data: null, request_id: /^\d{14}[0-9A-F]{20}$/, time_elapsed: /s$/ })
  if (message !== undefined) t.match(response.json.message, message)
}

test('a body that is not JSON is 50204', async (t) => {
  const { origin } = await startEmulator(t)
  await expectRefusal(t, origin, 'not json', 50204)
  await expectRefusal(t, origin, '[1,2]', 50204)
})

test('another req_key is 50200, none is 50201', async (t) => {
  const { origin } = await startEmulator(t)
  const image = await makeJpeg(800, 600)
  await expectRefusal(t, origin, cvBody(image, { req_key: 'jimeng_t2i_v40' }), 50200, /req_key/)
  const { req_key: _dropped, ...noKey } = cvBody(image)
  await expectRefusal(t, origin, noKey, 50201, /req_key/)
})

test('no prompt (or an empty one) is 50201', async (t) => {
  const { origin } = await startEmulator(t)
  const image = await makeJpeg(800, 600)
  const { prompt: _dropped, ...noPrompt } = cvBody(image)
  await expectRefusal(t, origin, noPrompt, 50201, /prompt/)
  await expectRefusal(t, origin, cvBody(image, { prompt: '' }), 50201, /prompt/)
})

test('out-of-range or mistyped parameters are 50200, naming the field', async (t) => {
  const { origin } = await startEmulator(t)
  const image = await makeJpeg(800, 600)
  const cases: Array<[string, unknown]> = [
    ['clip_skip', 0], ['clip_skip', 4], ['clip_skip', 1.5],
    ['canny_weight', 1.1], ['canny_weight', -0.1],
    ['strength', 0], ['strength', 1.01],
    ['scale', 0.5], ['scale', 31],
    ['ddim_steps', 0], ['ddim_steps', 51],
    ['long_resolution', 255], ['long_resolution', 2049],
    ['id_scale', 2],
    ['seed', -2], ['seed', '5'],
    ['i2i_keep_texture', 2],
    ['return_url', 'true'],
    ['lora_multipers', { a: 'x' }], ['lora_multipers', [1]],
    ['logo_info', { add_logo: 'yes' }], ['logo_info', { position: 4 }], ['logo_info', { language: 2 }],
    ['logo_info', { opacity: 1.5 }], ['logo_info', { text: 'x' }], ['logo_info', 1],
    ['prompt', 5]
  ]
  for (const [field, value] of cases) {
    await expectRefusal(t, origin, cvBody(image, { [field]: value }), 50200, new RegExp(field))
  }
})

test('the edges of every range are accepted', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, cvBody(await makeJpeg(800, 600), {
    strength: 1,
    seed: -1,
    scale: 30,
    ddim_steps: 50,
    clip_skip: 3,
    canny_weight: 0,
    i2i_keep_texture: 0,
    long_resolution: 256,
    id_scale: 1,
    lora_multipers: { Colorwater_v4: 0.2 },
    return_url: false,
    logo_info: { add_logo: true, position: 3, language: 0, opacity: 1 }
  }))
  t.equal(response.status, 200)
})

test('an unknown field is 50200 (stricter than the service, so proxy typos show)', async (t) => {
  const { origin } = await startEmulator(t)
  await expectRefusal(t, origin, cvBody(await makeJpeg(800, 600), { image_base64: 'x' }), 50200, /image_base64/)
})

test('no image is 50206', async (t) => {
  const { origin } = await startEmulator(t)
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT }, 50206)
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: [], image_urls: null }, 50206)
})

test('two sources or two images are 50200', async (t) => {
  const { origin } = await startEmulator(t)
  const base64 = (await makeJpeg(800, 600)).toString('base64')
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: [base64], image_urls: ['http://127.0.0.1:9/a.jpg'] }, 50200)
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: [base64, base64] }, 50200)
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: base64 }, 50200, /binary_data_base64/)
})

test('base64 with a data: prefix, or not base64 at all, is 50207', async (t) => {
  const { origin } = await startEmulator(t)
  const base64 = (await makeJpeg(800, 600)).toString('base64')
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: [`data:image/jpeg;base64,${base64}`] }, 50207, /data:/)
  await expectRefusal(t, origin, { req_key: REQ_KEY, prompt: PROMPT, binary_data_base64: ['not base64!'] }, 50207)
})

test('WebP is refused with 50207, like the service does', async (t) => {
  const { origin } = await startEmulator(t)
  const webp = await sharp({ create: { width: 1024, height: 768, channels: 3, background: '#808080' } }).webp().toBuffer()
  await expectRefusal(t, origin, cvBody(webp), 50207, /JPEG or PNG/)
})

test('bytes that claim JPEG but do not decode are 50207', async (t) => {
  const { origin } = await startEmulator(t)
  const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)])
  await expectRefusal(t, origin, cvBody(broken), 50207)
})

test('an image over 5,000,000 bytes is 50205', async (t) => {
  const { origin } = await startEmulator(t)
  // Random pixels do not compress: a 1600x1200 PNG of noise is ~5.8 MB.
  const noise = Buffer.alloc(1600 * 1200 * 3)
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
  const png = await sharp(noise, { raw: { width: 1600, height: 1200, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer()
  t.ok(png.length > 5_000_000, `the PNG is ${png.length} bytes`)
  await expectRefusal(t, origin, cvBody(png), 50205, /5000000 bytes/)
})

test('dimensions outside the rules are 50205; orientation is free', async (t) => {
  const { origin } = await startEmulator(t)
  for (const [width, height] of [[799, 600], [800, 599], [4097, 1000], [1000, 4097], [590, 1000]] as const) {
    await expectRefusal(t, origin, cvBody(await makeJpeg(width, height)), 50205, new RegExp(`${width}x${height}`))
  }
  const portrait = await callEmulator(origin, cvBody(await makeJpeg(600, 800)))
  t.equal(portrait.status, 200)
})
