// Turns the client's image source into the upstream body's image field: prepared base64, or a checked URL.
import type { Config } from '../config-types.js'
import { ImageFetchFailedError } from '../errors.js'
import { fetchImage } from '../image/fetch.js'
import { prepareImage, type PreparedImage } from '../image/prepare.js'
import { sniffImage } from '../image/sniff.js'
import { checkImageUrl } from '../image/url-policy.js'
import type { ImageSource } from './input.js'

export type ImagePolicy = Pick<Config,
  'maxUploadBytes' | 'maxImagePixels' | 'imageMaxEdge' | 'imageUrlMode' | 'imageFetchTimeoutMs' | 'imageFetchAllowHosts'>

export type UpstreamImageField =
  | { binary_data_base64: [string], prepared: PreparedImage }
  | { image_urls: [string], prepared: undefined }

export async function upstreamImageField (
  source: ImageSource,
  longResolution: number,
  policy: ImagePolicy,
  signal?: AbortSignal
): Promise<UpstreamImageField> {
  const fit = { maxImagePixels: policy.maxImagePixels, imageMaxEdge: policy.imageMaxEdge, longResolution }
  if (source.kind === 'bytes') {
    const prepared = await prepareImage(source.bytes, fit)
    return { binary_data_base64: [prepared.data.toString('base64')], prepared }
  }
  if (policy.imageUrlMode === 'passthrough') {
    const url = checkImageUrl(source.url, { allowHosts: policy.imageFetchAllowHosts })
    return { image_urls: [url.href], prepared: undefined }
  }
  const download = await fetchImage(source.url, {
    timeoutMs: policy.imageFetchTimeoutMs,
    maxBytes: policy.maxUploadBytes,
    allowHosts: policy.imageFetchAllowHosts,
    signal
  })
  // A page or a JSON error is a failed download; an image of another format is the client's 415.
  if (sniffImage(download.bytes).kind === 'unknown') throw new ImageFetchFailedError('the URL did not return an image')
  const prepared = await prepareImage(download.bytes, fit)
  return { binary_data_base64: [prepared.data.toString('base64')], prepared }
}
