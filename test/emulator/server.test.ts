import { spawn } from 'node:child_process'
import { once } from 'node:events'
import sharp from 'sharp'
import { test } from 'tap'
import { request } from 'undici'
import { callEmulator, cvBody, startEmulator } from '../fixtures/emulator-client.js'

test('GET / answers 200 (health)', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await request(`${origin}/`)
  t.equal(response.statusCode, 200)
  t.same(await response.body.json(), { status: 'ok' })
})

test('a body of several MB (a 4.9 MB image in base64) is accepted', async (t) => {
  const { origin } = await startEmulator(t)
  const noise = Buffer.alloc(1400 * 1150 * 3)
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24
  const png = await sharp(noise, { raw: { width: 1400, height: 1150, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer()
  t.ok(png.length > 4_800_000 && png.length <= 5_000_000, `the PNG is ${png.length} bytes`)
  const response = await callEmulator(origin, cvBody(png))
  t.equal(response.status, 200)
})

test('a body over the limit is 413 with code 50205', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, { req_key: 'x', prompt: 'a'.repeat(11 * 1024 * 1024) })
  t.equal(response.status, 413)
  t.equal(response.json.code, 50205)
})

test('a Content-Type fastify cannot parse is answered in the business shape', async (t) => {
  const { origin } = await startEmulator(t)
  const response = await callEmulator(origin, '{}', { headers: (signed) => ({ ...signed, 'content-type': '/' }) })
  t.equal(response.status, 415)
  t.equal(response.json.code, 50200)
})

test('npm run emulator: listens on PORT/HOST, logs one start line, exits 0 on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', EMULATOR_FAULTS: 'hang:0.01', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  while (!/listening at http:\/\/127\.0\.0\.1:\d+/.test(output)) {
    await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => { throw new Error(`exited: ${output}`) })])
  }
  t.match(output, /faults hang:0.01/)
  t.notMatch(output, /dev-secret/, 'no secret in the start line')
  const origin = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? ''
  const response = await request(`${origin}/`)
  t.equal(response.statusCode, 200)
  await response.body.dump()
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

test('npm run emulator refuses a bad EMULATOR_FAULTS with a clear message', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/emulator/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', EMULATOR_FAULTS: 'explode:1' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  const [code] = await once(child, 'exit')
  t.not(code, 0)
  t.match(errors, /unknown fault "explode"/)
})
