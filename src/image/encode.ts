// Encoding for the upstream: JPEG, or PNG where alpha is used, within UPSTREAM_MAX_BYTES. Quality is
// lowered first (JPEG), then the image is shrunk (never below the upstream's minimums).
import { InvalidImageError } from '../errors.js'
import { fitUpstream, UPSTREAM_MAX_BYTES, type Dimensions } from './fit.js'
import { sharp } from './sharp-setup.js'

export interface RawImage extends Dimensions {
  data: Buffer
  channels: 1 | 2 | 3 | 4
}

export interface EncodedImage extends Dimensions {
  data: Buffer
  format: 'jpeg' | 'png'
}

// libjpeg-turbo at quality 85 with optimised Huffman tables, chosen by measurement (a noisy 12 MP photo
// shrunk to 768x1024): 123 KB in 14 ms; mozjpeg at 85 gave 92 KB in 96 ms. The upstream resamples to
// long_resolution and regenerates the picture, so 30 KB is not worth 7x the encoding CPU.
// Lower qualities are only the fallback for the 5 MB limit.
const JPEG_QUALITIES = [85, 70, 55]
/** the first choice, also for prepare.ts's one-pipeline path */
export const JPEG_OPTIONS = { quality: JPEG_QUALITIES[0] as number }
// Each shrink aims a little under the size that would just fit, so one step is usually enough.
const SHRINK_MARGIN = 0.9

export async function encodeForUpstream (image: RawImage, keepAlpha: boolean): Promise<EncodedImage> {
  let current = image
  let alpha = keepAlpha
  for (;;) {
    const encoded = alpha ? await encodePng(current) : await encodeJpeg(current)
    if (encoded.data.length <= UPSTREAM_MAX_BYTES) return encoded
    const smaller = shrunkFor(current, encoded.data.length)
    if (smaller !== undefined) {
      current = await resize(current, smaller)
    } else if (alpha) {
      // Still too big at the smallest allowed size: give up the transparency rather than the request.
      alpha = false
    } else {
      throw new InvalidImageError('the image cannot be compressed to the upstream\'s 5 MB limit')
    }
  }
}

function rawInput (image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
}

async function encodeJpeg (image: RawImage): Promise<EncodedImage> {
  let data = Buffer.alloc(0)
  for (const quality of JPEG_QUALITIES) {
    data = await rawInput(image).flatten({ background: '#ffffff' }).jpeg({ quality }).toBuffer()
    if (data.length <= UPSTREAM_MAX_BYTES) break
  }
  return { data, format: 'jpeg', width: image.width, height: image.height }
}

// No palette quantisation as a fallback: libimagequant took 20-30 s on a 1024x768 noisy image.
async function encodePng (image: RawImage): Promise<EncodedImage> {
  const data = await rawInput(image).png().toBuffer()
  return { data, format: 'png', width: image.width, height: image.height }
}

/** A smaller size expected to fit the byte limit, or undefined when the minimums are already reached. */
function shrunkFor (image: RawImage, encodedBytes: number): Dimensions | undefined {
  const factor = Math.sqrt(UPSTREAM_MAX_BYTES / encodedBytes) * SHRINK_MARGIN
  const target = Math.floor(Math.max(image.width, image.height) * factor)
  const smaller = fitUpstream(image.width, image.height, target)
  if (smaller === undefined || (smaller.width === image.width && smaller.height === image.height)) return undefined
  return smaller
}

async function resize (image: RawImage, size: Dimensions): Promise<RawImage> {
  const { data, info } = await rawInput(image)
    .resize(size.width, size.height, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels }
}
