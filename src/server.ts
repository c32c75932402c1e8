// Process entry for `npm start`: production configuration only, from the environment (and .env).
import { assertProductionReady, loadConfig } from './config.js'
import { failStart, start } from './start.js'

try {
  const config = loadConfig()
  assertProductionReady(config)
  await start(config, config.apiKeysFile as string, { production: true })
} catch (error) {
  failStart(error)
}
