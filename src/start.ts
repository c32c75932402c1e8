// Starts the proxy in this process: build the app, listen, reload on SIGHUP, close with grace.
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp } from './app.js'
import { reloadAdminToken, reloadCredentials, type Config } from './config.js'
import { KeyRing } from './keys/ring.js'
import { loggerOptions } from './logger.js'
import { lowerHelperThreads } from './ops/thread-priority.js'
import { loadPresets } from './stylize/presets.js'

export interface StartOptions {
  /** dev mode skips the production checks (credentials and keys come from the dev wiring) */
  production: boolean
  /** more to close after the app (the dev emulator) */
  onClose?: () => Promise<void>
  /** readable log lines for a person at a terminal (npm run dev), instead of JSON */
  prettyLogs?: boolean
}

export async function start (config: Config, keysFile: string, options: StartOptions): Promise<string> {
  const logger = pino({
    ...loggerOptions(config),
    // a dev dependency: only `npm run dev` asks for it
    ...(options.prettyLogs === true ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } } : {})
  })
  const keyRing = await KeyRing.load(keysFile, logger)
  const presets = await loadPresets(config.presetsFile)
  const app = await buildApp(config, { keyRing, presets, logger })
  // an edited keys file takes effect without a restart (SIGHUP below does the same on demand)
  const stopWatchingKeys = keyRing.watch()
  app.addHook('onClose', async () => { stopWatchingKeys() })

  process.on('SIGHUP', () => {
    void keyRing.reload()
    if (!options.production) return
    try {
      app.setCredentials(reloadCredentials(config))
      logger.info('credentials re-read')
    } catch (error) {
      logger.error({ reason: (error as Error).message }, 'credentials not re-read, keeping the last good ones')
    }
    try {
      app.setAdminToken(reloadAdminToken(config))
    } catch (error) {
      logger.error({ reason: (error as Error).message }, 'admin token not re-read, keeping the last good one')
    }
  })

  // SIGHUP is the reload signal above, never a stop: close-with-grace would treat it as one by default
  closeWithGrace({ delay: config.shutdownDrainMs + config.shutdownTimeoutMs, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after an error')
    else logger.info({ signal }, 'shutting down')
    // behind a load balancer: stay in service until it stopped sending (SHUTDOWN_DRAIN_MS, default 0)
    if (signal !== undefined) await app.drain(config.shutdownDrainMs)
    await app.close()
    await options.onClose?.()
  })

  // image work below the event loop, so that refusals and answers never wait for sharp (ops/thread-priority.ts)
  const lowered = await lowerHelperThreads(config.imageWorkNice)
  if (lowered > 0) logger.debug({ threads: lowered, nice: config.imageWorkNice }, 'image work threads lowered below the event loop')
  // a deep accept queue: under a burst, connections wait for the event loop instead of being reset by the kernel
  return await app.listen({ port: config.port, host: config.host, backlog: 4096 })
}

/** Prints one clear line for a start-up failure, without a stack trace, and exits 1. */
export function failStart (error: unknown): never {
  process.stderr.write(`stylize-proxy: cannot start: ${(error as Error).message}\n`)
  process.exit(1)
}
