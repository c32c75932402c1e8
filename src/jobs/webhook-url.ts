// A job's webhook_url, judged at submit by the image URL's SSRF policy: the URL itself, then what its
// name resolves to (every delivery checks again at connect time, webhook.ts).
import { promisify } from 'node:util'
import type { LookupFunction } from 'node:net'
import type { Config } from '../config-types.js'
import { ImageUrlRejectedError, InvalidRequestError } from '../errors.js'
import { defaultLookup, guardLookup } from '../image/connect-guard.js'
import { isIpLiteral } from '../image/address.js'
import { checkImageUrl, effectivePort, isHostAllowed } from '../image/url-policy.js'

export async function checkWebhookUrl (raw: string, config: Pick<Config, 'webhookSecret' | 'webhookAllowHosts'>, lookup: LookupFunction = defaultLookup): Promise<URL> {
  if (config.webhookSecret === undefined) throw new InvalidRequestError('webhook_url needs WEBHOOK_SECRET set on the server, so that deliveries can be signed')
  const url = checkImageUrl(raw, { allowHosts: config.webhookAllowHosts, field: 'webhook_url' })
  if (isHostAllowed(url.hostname, effectivePort(url), config.webhookAllowHosts) || isIpLiteral(url.hostname)) return url
  try {
    await promisify(guardLookup(lookup))(url.hostname, { all: true })
  } catch (error) {
    const forbidden = (error as { code?: string }).code === 'ERR_IMAGE_FORBIDDEN_ADDRESS'
    throw new ImageUrlRejectedError(forbidden ? 'webhook_url resolves to a non-public address' : 'webhook_url host does not resolve')
  }
  return url
}
