// `npm run dev` as a developer runs it: this machine only, readable logs, the dev key working.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'tap'
import { request } from 'undici'
import { photo } from './fixtures/harness.js'

test('npm run dev listens on 127.0.0.1 unless HOST is set, and logs for a person, not JSON', async (t) => {
  const root = new URL('..', import.meta.url).pathname
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += String(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk) })
  while (!/stylize-proxy \(dev\) on (http:\/\/\S+)/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`npm run dev exited: ${stderr}`)
    await once(child.stderr, 'data')
  }
  const base = /stylize-proxy \(dev\) on (http:\/\/\S+),/.exec(stderr)?.[1] as string
  t.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback only')
  const response = await request(`${base}/stylize`, {
    method: 'POST',
    headers: { authorization: 'Bearer dev-key', 'content-type': 'application/json', accept: 'image/jpeg' },
    body: JSON.stringify({ image_base64: (await photo(1024, 768)).toString('base64') })
  })
  await response.body.dump()
  t.equal(response.statusCode, 200, 'the dev key works against the built-in emulator')
  while (!/request completed/.test(stdout)) await once(child.stdout, 'data')
  const line = stdout.split('\n').find((candidate) => /request completed/.test(candidate)) as string
  t.notMatch(line, /^\s*\{/, 'a readable line, not JSON')
  t.match(line, /INFO/)
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

test('npm run dev refuses a real upstream without a keys file: the public dev key must not sign paid calls', async (t) => {
  const root = new URL('..', import.meta.url).pathname
  // never contacted: the refusal comes before any call
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: '0', UPSTREAM_URL: 'http://127.0.0.1:9', VOLC_ACCESS_KEY_ID: 'AKLTreal', VOLC_SECRET_ACCESS_KEY: 'real-secret' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += String(chunk) })
  const [code] = await once(child, 'exit')
  t.equal(code, 1)
  t.match(stderr, /^stylize-proxy: cannot start: UPSTREAM_URL .* set API_KEYS_FILE/)
  t.notMatch(stderr, /real-secret/)
})
