// `stylize-proxy/client` as another service uses it: a separate node process importing the package's export,
// which is the built dist/client/index.js (npm test builds first; alone, run `npm run build`).
import { execFile } from 'node:child_process'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'tap'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, tempDir } from '../fixtures/harness.js'

const BUILT = new URL('../../dist/client/index.js', import.meta.url)
const SOURCE = new URL('../../src/client/index.ts', import.meta.url)
const SCRIPT = new URL('./fixtures/use-client.mjs', import.meta.url)

test('a separate node script imports stylize-proxy/client and stylizes a photo', async (t) => {
  t.ok(existsSync(BUILT), 'dist/client/index.js exists (npm run build)')
  t.ok(statSync(BUILT).mtimeMs >= statSync(SOURCE).mtimeMs, 'the build is not older than src/client (npm run build)')
  const emulator = await startEmulator(t)
  const proxy = await startProxy(t, { upstreamUrl: emulator.url, env: { MAX_EVENT_LOOP_DELAY_MS: '0' } })
  const image = join(tempDir(), 'photo.jpg')
  writeFileSync(image, await photo(1024, 768))

  const { stdout } = await promisify(execFile)(process.execPath, [SCRIPT.pathname], {
    // from the package's own folder, where Node resolves its name through package.json "exports"
    cwd: new URL('../..', import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? '', BASE_URL: proxy.url, API_KEY: DEFAULT_KEYS[0]!.key, IMAGE_PATH: image },
    timeout: 60_000
  })
  const result = JSON.parse(stdout) as Record<string, unknown>
  t.match(result, {
    mimeType: 'image/jpeg',
    jpeg: 'ffd8ff',
    requestId: String,
    upstreamRequestId: String,
    refused: { isStylizeError: true, code: 'UNAUTHORIZED', statusCode: 401 }
  })
  t.ok((result.bytes as number) > 1000)
})
