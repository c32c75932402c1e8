// What the scenarios send: images made with sharp, multipart and JSON bodies, the keys file, the
// upstream's canned answer, and a loopback server that hands out images by URL.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { photo, successAnswer } from '../test/fixtures/harness.js'
import { sha256Hex } from '../src/upstream/sign.js'
import { sharp } from '../src/image/sharp-setup.js'
import type { BenchRequest } from './load.js'

export const BENCH_KEY = 'spk_bench_key_for_load_tests'
export const BENCH_AUTH = { authorization: `Bearer ${BENCH_KEY}` }

let cacheDir: string | undefined

/** Keeps generated images in `dir` between runs: making a 12 MP photo-like image takes seconds. */
export function useImageCache (dir: string): void {
  mkdirSync(dir, { recursive: true })
  cacheDir = dir
}

async function cached (name: string, make: () => Promise<Buffer>): Promise<Buffer> {
  const path = cacheDir === undefined ? undefined : join(cacheDir, name)
  if (path !== undefined && existsSync(path)) return readFileSync(path)
  const image = await make()
  if (path !== undefined) writeFileSync(path, image)
  return image
}

let fitting: Promise<Buffer> | undefined

/** A photo-like JPEG that the proxy sends upstream untouched: 1024x768, bare, about 100 KB (made once). */
export async function fittingJpeg (): Promise<Buffer> {
  fitting ??= cached('fitting-1024x768.jpg', async () => {
    // the noise makes the size vary a little from run to run; take the quality closest to 100 KB
    let best: Buffer | undefined
    for (const quality of [70, 60, 50, 40, 30]) {
      const image = await photo(1024, 768, { quality })
      if (best === undefined || Math.abs(image.length - 100_000) < Math.abs(best.length - 100_000)) best = image
      if (image.length <= 100_000) break
    }
    return best as Buffer
  })
  return await fitting
}

/** A phone-camera-like JPEG: 4000x3000 at quality 90, stored sideways with EXIF orientation 6. */
export async function phoneJpeg (width = 4000, height = 3000): Promise<Buffer> {
  return await cached(`phone-${width}x${height}.jpg`, async () => {
    const raw = await photo(width, height, { quality: 90 })
    return await sharp(raw).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer()
  })
}

/** A plain camera JPEG (quality 85, no metadata): too big for the upstream, so always re-encoded. */
export async function cameraJpeg (width: number, height: number): Promise<Buffer> {
  return await cached(`camera-${width}x${height}.jpg`, async () => await photo(width, height, { quality: 85 }))
}

export async function pngImage (width: number, height: number): Promise<Buffer> {
  return await cached(`photo-${width}x${height}.png`, async () => await photo(width, height, { format: 'png' }))
}

export async function webpImage (width: number, height: number): Promise<Buffer> {
  return await cached(`photo-${width}x${height}.webp`, async () => await photo(width, height, { format: 'webp', quality: 80 }))
}

/** A GIF: refused 415 by its bytes. */
export async function gifImage (): Promise<Buffer> {
  return await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).gif().toBuffer()
}

export interface MultipartBody { body: Buffer, contentType: string }

export function multipartBody (file: Buffer, fields: Record<string, string> = {}, mimeType = 'image/jpeg'): MultipartBody {
  const boundary = '----stylize-bench-boundary-7d1c0f'
  const parts: Buffer[] = []
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`))
  }
  parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="photo"\r\ncontent-type: ${mimeType}\r\n\r\n`))
  parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}

export function uploadRequest (file: Buffer, kind = 'upload', headers: Record<string, string> = BENCH_AUTH, mimeType?: string): BenchRequest {
  const { body, contentType } = multipartBody(file, {}, mimeType)
  return { kind, method: 'POST', path: '/stylize', headers: { ...headers, 'content-type': contentType }, body }
}

export function jsonRequest (fields: Record<string, unknown>, kind: string, headers: Record<string, string> = BENCH_AUTH): BenchRequest {
  return { kind, method: 'POST', path: '/stylize', headers: { ...headers, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(fields)) }
}

/** The keys file: one bench key whose rate limit never gets in the way. */
export function writeBenchKeys (dir: string): string {
  const path = join(dir, 'bench-keys.json')
  writeFileSync(path, JSON.stringify({
    keys: [{ id: 'bench', sha256: sha256Hex(BENCH_KEY), rateLimit: { max: 1_000_000_000, timeWindow: '1 minute' } }]
  }))
  return path
}

/** The upstream's success body with `image` as the result, written where the child servers read it. */
export function writeUpstreamReply (dir: string, image: Buffer): { path: string, bytes: number } {
  const path = join(dir, 'upstream-reply.json')
  const body = Buffer.from(JSON.stringify(successAnswer(image).body))
  writeFileSync(path, body)
  return { path, bytes: body.length }
}

/** A loopback server of images by URL: /photo.jpg, /page.html (not an image), anything else 404. */
export async function startImageServer (image: Buffer): Promise<{ url: string, hostPort: string, close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/photo.jpg') {
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length })
      res.end(image)
    } else if (req.url === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><p>not an image</p>')
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}
