// `npm start` as an operator runs it: the compiled server, configured by the environment only.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { request } from 'undici'
import { EMULATOR_AK, EMULATOR_SK, photo, startEmulator, tempDir, writeKeysFile } from './fixtures/harness.js'
import { runServer, startServer } from './fixtures/server-process.js'
import { sha256Hex } from '../src/upstream/sign.js'

async function stylizeBytes (url: string, key: string): Promise<number> {
  const response = await request(`${url}/stylize`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json', accept: 'image/jpeg' },
    body: JSON.stringify({ image_base64: (await photo(1024, 768)).toString('base64') })
  })
  await response.body.dump()
  return response.statusCode
}

test('npm start refuses to start without credentials or keys, in one clear line', async (t) => {
  const started = runServer({ API_KEYS_FILE: '/nonexistent.json' })
  t.equal(await started.exited, 1)
  t.match(started.err(), /^stylize-proxy: cannot start: .*VOLC_ACCESS_KEY_ID/)
  t.equal(started.err().trim().split('\n').length, 1)

  const badValue = runServer({ VOLC_ACCESS_KEY_ID: 'AK', VOLC_SECRET_ACCESS_KEY: 'very-secret-value', API_KEYS_FILE: '/x.json', UPSTREAM_TIMEOUT_MS: 'soon' })
  await badValue.exited
  t.match(badValue.err(), /UPSTREAM_TIMEOUT_MS/)
  t.notMatch(badValue.err(), /very-secret-value/)
})

test('npm start serves against an upstream, and exits 0 on SIGTERM', async (t) => {
  const emulator = await startEmulator(t)
  const keysFile = writeKeysFile([{ id: 'ops', key: 'spk_ops_key' }])
  const server = await startServer(t, { VOLC_ACCESS_KEY_ID: EMULATOR_AK, VOLC_SECRET_ACCESS_KEY: EMULATOR_SK, API_KEYS_FILE: keysFile, UPSTREAM_URL: emulator.url })
  t.equal(await stylizeBytes(server.url, 'spk_ops_key'), 200)
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  t.notMatch(server.out(), /spk_ops_key|harness-secret/)
})

test('SIGHUP reloads the keys file and the _FILE secrets, and the process keeps serving', async (t) => {
  const emulator = await startEmulator(t)
  const keysFile = writeKeysFile([{ id: 'ops', key: 'spk_ops_key' }])
  const secretFile = join(tempDir(), 'volc-secret')
  writeFileSync(secretFile, 'a-stale-secret\n')
  const server = await startServer(t, {
    VOLC_ACCESS_KEY_ID: EMULATOR_AK, VOLC_SECRET_ACCESS_KEY_FILE: secretFile, API_KEYS_FILE: keysFile, UPSTREAM_URL: emulator.url
  })
  t.equal(await stylizeBytes(server.url, 'spk_ops_key'), 502, 'the stale secret is refused by the upstream')

  writeFileSync(secretFile, `${EMULATOR_SK}\n`)
  writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 'ops', sha256: sha256Hex('spk_rotated_key') }] }))
  server.child.kill('SIGHUP')
  await server.waitForLog(/credentials re-read/)
  await server.waitForLog(/client keys reloaded/)

  t.equal(server.child.exitCode, null, 'still running')
  t.equal(await stylizeBytes(server.url, 'spk_rotated_key'), 200, 'the reloaded key and secret serve')
  t.equal(await stylizeBytes(server.url, 'spk_ops_key'), 401, 'the removed key is refused')
  t.notMatch(server.out(), /shutting down/)

  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
  t.notMatch(server.out() + server.err(), new RegExp(`spk_rotated_key|${EMULATOR_SK}|a-stale-secret`))
})

test('npm start runs the server with two malloc arenas unless MALLOC_ARENA_MAX is set', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const emulator = await startEmulator(t)
  const keysFile = writeKeysFile([{ id: 'ops', key: 'spk_ops_key' }])
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', VOLC_ACCESS_KEY_ID: EMULATOR_AK, VOLC_SECRET_ACCESS_KEY: EMULATOR_SK, API_KEYS_FILE: keysFile, UPSTREAM_URL: emulator.url }
  for (const [given, expected] of [[undefined, '2'], ['4', '4']] as const) {
    const npm = spawn('npm', ['start', '--silent'], { cwd: new URL('..', import.meta.url).pathname, env: given === undefined ? env : { ...env, MALLOC_ARENA_MAX: given }, stdio: ['ignore', 'pipe', 'pipe'] })
    t.teardown(() => { npm.kill('SIGKILL') })
    let out = ''
    npm.stdout.on('data', (chunk: Buffer) => { out += String(chunk) })
    const listening = await new Promise<string>((resolve, reject) => {
      npm.stdout.on('data', () => { const line = out.split('\n').find((l) => /Server listening/.test(l)); if (line !== undefined) resolve(line) })
      npm.once('exit', () => { reject(new Error(`npm start exited: ${out}`)) })
    })
    const pid = (JSON.parse(listening) as { pid: number }).pid
    const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    t.ok(environment.includes(`MALLOC_ARENA_MAX=${expected}`), `MALLOC_ARENA_MAX=${expected} (given: ${given ?? 'unset'})`)
    process.kill(pid, 'SIGTERM')
    await once(npm, 'exit')
  }
})
