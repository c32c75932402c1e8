// Gets the input image's bytes (base64 or download) and enforces the service's image rules.
import sharp from 'sharp'
import { request } from 'undici'
import { BusinessError } from './responses.js'
import type { ImageSource } from './validate.js'

export const MAX_IMAGE_BYTES = 5_000_000
export const MIN_SHORT_SIDE = 600
export const MIN_LONG_SIDE = 800
export const MAX_SIDE = 4096
const FETCH_TIMEOUT_MS = 10_000

function decodeBase64 (data: string): Buffer {
  if (data.startsWith('data:')) throw new BusinessError(50207, 'binary_data_base64 must be plain base64, without a data: prefix')
  if (data.length === 0 || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw new BusinessError(50207, 'binary_data_base64 is not valid base64')
  }
  return Buffer.from(data, 'base64')
}

async function download (url: string): Promise<Buffer> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new BusinessError(50200, 'image_urls holds an invalid URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new BusinessError(50200, 'image_urls must be http(s)')
  try {
    const response = await request(parsed, {
      headersTimeout: FETCH_TIMEOUT_MS,
      bodyTimeout: FETCH_TIMEOUT_MS,
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS)
    })
    if (response.statusCode < 200 || response.statusCode > 299) {
      await response.body.dump()
      throw new BusinessError(50207, `image download failed with status ${response.statusCode}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length
      if (size > MAX_IMAGE_BYTES) {
        response.body.destroy()
        throw new BusinessError(50205, `the image is over ${MAX_IMAGE_BYTES} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
    return Buffer.concat(chunks)
  } catch (error) {
    if (error instanceof BusinessError) throw error
    throw new BusinessError(50207, 'image download failed')
  }
}

export function loadImageBytes (source: ImageSource): Promise<Buffer> {
  return source.kind === 'base64' ? Promise.resolve(decodeBase64(source.data)) : download(source.url)
}

function isJpeg (bytes: Buffer): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
}

function isPng (bytes: Buffer): boolean {
  return bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
}

/**
 * The service's image rules: JPEG or PNG by their bytes (WebP is refused), at most 5,000,000 bytes,
 * short side >= 600, long side >= 800, both <= 4096, read without EXIF orientation.
 * Oversized files and every dimension problem are 50205; any format or decoding problem is 50207.
 */
export async function checkImage (bytes: Buffer): Promise<void> {
  if (bytes.length > MAX_IMAGE_BYTES) throw new BusinessError(50205, `the image is over ${MAX_IMAGE_BYTES} bytes`)
  if (!isJpeg(bytes) && !isPng(bytes)) throw new BusinessError(50207, 'the image must be JPEG or PNG')
  let width: number
  let height: number
  try {
    ({ width, height } = await sharp(bytes).metadata())
  } catch {
    throw new BusinessError(50207, 'the image cannot be decoded')
  }
  const short = Math.min(width, height)
  const long = Math.max(width, height)
  if (short < MIN_SHORT_SIDE || long < MIN_LONG_SIDE || long > MAX_SIDE) {
    throw new BusinessError(50205, `the image is ${width}x${height}; the short side must be >= ${MIN_SHORT_SIDE}, the long side >= ${MIN_LONG_SIDE}, both <= ${MAX_SIDE}`)
  }
}
