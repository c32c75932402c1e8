// `npm run dev`: the whole product with no cloud account: the CVProcess emulator in this process,
// the proxy wired to it with the emulator's credentials, a development client key, the demo page.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, withDotenv } from './config.js'
import { buildEmulator } from './emulator/app.js'
import { emulatorOptionsFromEnv } from './emulator/options.js'
import { failStart, start } from './start.js'
import { sha256Hex } from './upstream/sign.js'

async function main (): Promise<void> {
  const environment = withDotenv(process.env)
  const emulatorOptions = emulatorOptionsFromEnv(environment)
  const emulator = buildEmulator(emulatorOptions)
  const emulatorUrl = await emulator.listen({ port: Number(process.env.EMULATOR_PORT ?? 0), host: '127.0.0.1' })

  // this machine only, unless HOST says otherwise: the development key is public
  const env: NodeJS.ProcessEnv = { DEMO_PAGE: 'true', HOST: '127.0.0.1', ...environment }
  const hasCredentials = env.VOLC_ACCESS_KEY_ID !== undefined || env.VOLC_ACCESS_KEY_ID_FILE !== undefined
  if (env.UPSTREAM_URL === undefined) {
    env.UPSTREAM_URL = emulatorUrl
    if (!hasCredentials) {
      env.VOLC_ACCESS_KEY_ID = emulatorOptions.accessKeyId
      env.VOLC_SECRET_ACCESS_KEY = emulatorOptions.secretAccessKey
      if (emulatorOptions.sessionToken !== undefined) env.VOLC_SESSION_TOKEN = emulatorOptions.sessionToken
    }
  }
  const config = loadConfig(env, { dotenvPath: false })

  const devKey = env.DEV_API_KEY ?? 'dev-key'
  let keysFile = config.apiKeysFile
  // the development key is public: it may only ever reach the built-in emulator, never a paid account
  if (keysFile === undefined && config.upstreamUrl !== emulatorUrl) {
    throw new Error(`UPSTREAM_URL is ${new URL(config.upstreamUrl).origin}, not the built-in emulator: set API_KEYS_FILE ` +
      '(npm run keys -- create <id>), since the public development key would otherwise sign calls for it')
  }
  if (keysFile === undefined) {
    keysFile = join(mkdtempSync(join(tmpdir(), 'stylize-dev-')), 'keys.json')
    writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 'dev', sha256: sha256Hex(devKey), allowPrompt: true }] }, null, 2))
  }

  const address = await start(config, keysFile, { production: false, prettyLogs: true, onClose: async () => { await emulator.close() } })
  const base = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost')
  // The banner goes to stderr, never through the logger: it shows the development key.
  process.stderr.write([
    '',
    `stylize-proxy (dev) on ${base}, upstream ${config.upstreamUrl}${config.upstreamUrl === emulatorUrl ? ' (built-in emulator)' : ''}`,
    config.apiKeysFile === undefined ? `development client key: ${devKey}` : `client keys from ${config.apiKeysFile}`,
    `try:  curl -H 'Authorization: Bearer ${devKey}' -H 'Accept: image/jpeg' -F image=@photo.jpg ${base}/stylize -o statue.jpg`,
    ...(config.demoPage ? [`demo page: ${base}/`] : []),
    ''
  ].join('\n'))
}

main().catch(failStart)
