// `npm run emulator`: the CVProcess emulator alone, on PORT (default 3001).
import closeWithGrace from 'close-with-grace'
import { buildEmulator } from './app.js'
import { emulatorOptionsFromEnv } from './options.js'

function listenPort (text: string | undefined): number {
  const port = Number(text ?? '3001')
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${text ?? ''}"`)
  return port
}

const options = emulatorOptionsFromEnv(process.env)
const port = listenPort(process.env.PORT)
const host = process.env.HOST ?? '0.0.0.0'
const app = buildEmulator(options, { logger: { level: process.env.LOG_LEVEL ?? 'info' } })

closeWithGrace({ delay: 10_000, logger: { error: (message: unknown) => app.log.error(message) } }, async ({ err }) => {
  if (err !== undefined) app.log.error({ err }, 'emulator stopping after an error')
  await app.close()
})

await app.listen({
  port,
  host,
  // The one start line: where, and which behaviours are switched on (never the credentials).
  listenTextResolver: (address) => `CVProcess emulator listening at ${address} ` +
    `(latency ${options.latencyMs} ms, concurrency ${options.concurrency === 0 ? 'unlimited' : options.concurrency}, ` +
    `faults ${options.faults.map((fault) => `${fault.name}:${fault.probability}`).join(',') || 'none'}, ` +
    `session token ${options.sessionToken === undefined ? 'off' : 'on'})`
})
