// `npm start` as an operator runs it: the compiled server, configured by the environment only.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'tap'
import { request } from 'undici'
import { EMULATOR_AK, EMULATOR_SK, photo, startEmulator, writeKeysFile } from './fixtures/harness.js'

const SERVER = new URL('../dist/server.js', import.meta.url).pathname

function run (env: Record<string, string>) {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: new URL('.', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += String(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk) })
  return { child, out: () => stdout, err: () => stderr }
}

test('npm start refuses to start without credentials or keys, in one clear line', async (t) => {
  const started = run({ API_KEYS_FILE: '/nonexistent.json' })
  const [code] = await once(started.child, 'exit')
  t.equal(code, 1)
  t.match(started.err(), /^stylize-proxy: cannot start: .*VOLC_ACCESS_KEY_ID/)
  t.equal(started.err().trim().split('\n').length, 1)

  const badValue = run({ VOLC_ACCESS_KEY_ID: 'AK', VOLC_SECRET_ACCESS_KEY: 'very-secret-value', API_KEYS_FILE: '/x.json', UPSTREAM_TIMEOUT_MS: 'soon' })
  await once(badValue.child, 'exit')
  t.match(badValue.err(), /UPSTREAM_TIMEOUT_MS/)
  t.notMatch(badValue.err(), /very-secret-value/)
})

test('npm start serves against an upstream, and exits 0 on SIGTERM', async (t) => {
  const emulator = await startEmulator(t)
  const keysFile = writeKeysFile([{ id: 'ops', key: 'spk_ops_key' }])
  const server = run({
    PORT: '0', HOST: '127.0.0.1', VOLC_ACCESS_KEY_ID: EMULATOR_AK, VOLC_SECRET_ACCESS_KEY: EMULATOR_SK, API_KEYS_FILE: keysFile, UPSTREAM_URL: emulator.url
  })
  t.teardown(() => { server.child.kill('SIGKILL') })
  let url: string | undefined
  for (let i = 0; i < 100 && url === undefined; i++) {
    url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.out())?.[1]
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(url, 'the server logged its address')
  const response = await request(`${url}/stylize`, {
    method: 'POST',
    headers: { 'x-api-key': 'spk_ops_key', 'content-type': 'application/json', accept: 'image/jpeg' },
    body: JSON.stringify({ image_base64: (await photo(1024, 768)).toString('base64') })
  })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'image/jpeg')
  await response.body.dump()
  server.child.kill('SIGTERM')
  const [code] = await once(server.child, 'exit')
  t.equal(code, 0)
  t.notMatch(server.out(), /spk_ops_key|harness-secret/)
})
