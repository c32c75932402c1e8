// pino options: JSON lines, and redaction by path of anything secret or bulky.
import type { LoggerOptions } from 'pino'
import type { Config } from './config-types.js'

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  // one level down too: @fastify/multipart logs { busboyOptions: { headers } } at trace
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers.cookie',
  'credentials',
  '*.credentials',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.image_base64',
  '*.binary_data_base64',
  'image_base64',
  'binary_data_base64'
]

export function loggerOptions (config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' }
  }
}
