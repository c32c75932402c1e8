// The client as another service gets it: its own package (packages/client, undici its one dependency),
// installed into a scratch project by path and from `npm pack`'s tarball, then used by a plain node script.
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, lstatSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test, type Test } from 'tap'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, tempDir } from '../fixtures/harness.js'

const run = promisify(execFile)
const PACKAGE = new URL('../../packages/client/', import.meta.url).pathname
const SCRIPT = new URL('./fixtures/use-client.mjs', import.meta.url).pathname
// from npm's cache, which the repository's own install filled: no registry needed for undici
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']

type Teardown = Parameters<typeof startProxy>[0]

async function scratchProject (): Promise<string> {
  const dir = tempDir()
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }))
  copyFileSync(SCRIPT, join(dir, 'use-client.mjs'))
  return dir
}

/** Runs the script in the project against a real proxy; its JSON report. */
async function useClient (t: Teardown, dir: string): Promise<Record<string, unknown>> {
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url })
  const image = join(tempDir(), 'photo.jpg')
  writeFileSync(image, await photo(1024, 768))
  const { stdout } = await run(process.execPath, ['use-client.mjs'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', BASE_URL: proxy.url, API_KEY: DEFAULT_KEYS[0]!.key, IMAGE_PATH: image },
    timeout: 60_000
  })
  return JSON.parse(stdout) as Record<string, unknown>
}

function checkReport (t: Test, report: Record<string, unknown>): void {
  t.match(report, {
    mimeType: 'image/jpeg',
    jpeg: 'ffd8ff',
    requestId: String,
    upstreamRequestId: String,
    refused: { isStylizeError: true, code: 'UNAUTHORIZED', statusCode: 401 }
  })
  t.ok((report.bytes as number) > 1000)
  t.same(report.replayed, [false, true], 'the retry under the same Idempotency-Key says it was replayed')
  t.same(report.missing, { isStylizeError: false, code: 'ENOENT' }, 'a missing file is the file system\'s ENOENT, not NETWORK_ERROR')
}

test('installed by path into a scratch project, the built package imports and stylizes', async (t) => {
  t.ok(existsSync(join(PACKAGE, 'dist/index.js')), 'packages/client/dist is built (its prepare script, run by npm install / npm run build)')
  const dir = await scratchProject()
  await run('npm', [...NPM_INSTALL, PACKAGE], { cwd: dir, timeout: 120_000 })
  t.ok(lstatSync(join(dir, 'node_modules/stylize-proxy-client')).isSymbolicLink(), 'linked to the folder')
  checkReport(t, await useClient(t, dir))
})

test('from npm pack: a tarball of the built client that brings undici and nothing else', async (t) => {
  const packed = tempDir()
  // pack runs the package's prepare (its build) first
  const { stdout } = await run('npm', ['pack', '--pack-destination', packed, '--loglevel=error'], { cwd: PACKAGE, timeout: 120_000 })
  const tarball = join(packed, stdout.trim().split('\n').at(-1) as string)
  const dir = await scratchProject()
  await run('npm', [...NPM_INSTALL, tarball], { cwd: dir, timeout: 120_000 })
  const installed = readdirSync(join(dir, 'node_modules')).filter((name) => !name.startsWith('.')).sort()
  t.same(installed, ['stylize-proxy-client', 'undici'], 'undici is its only dependency')
  t.notOk(existsSync(join(dir, 'node_modules/stylize-proxy-client/src')), 'only the build ships')
  checkReport(t, await useClient(t, dir))
})
