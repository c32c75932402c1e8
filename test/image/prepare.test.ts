import { test } from 'tap'
import { prepareImage, type PrepareOptions } from '../../src/image/prepare.js'
import { sharp } from '../../src/image/sharp-setup.js'
import { bmp, ftyp, hasGpsIfd, noise, PHONE_EXIF, photo, pngDeclaring, solid, XMP } from './fixtures/images.js'

const options: PrepareOptions = { maxImagePixels: 100_000_000, imageMaxEdge: 1024, longResolution: 704 }

async function metadataOf (data: Buffer) {
  return await sharp(data).metadata()
}

async function refusal (bytes: Buffer, opts: PrepareOptions = options): Promise<{ statusCode?: number, code?: string, message: string }> {
  try {
    await prepareImage(bytes, opts)
  } catch (error) {
    return error as { statusCode?: number, code?: string, message: string }
  }
  throw new Error('prepareImage accepted the image')
}

test('a 12 MP phone photo (EXIF orientation 6, GPS, XMP, P3 profile) arrives upright, bare and small', async (t) => {
  const input = await (await photo(4000, 3000))
    .jpeg({ quality: 92 })
    .withExif(PHONE_EXIF)
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .withXmp(XMP)
    .toBuffer()
  const before = await metadataOf(input)
  t.equal(before.orientation, 6)
  t.ok(before.exif !== undefined && hasGpsIfd(before.exif), 'the input carries GPS')

  const started = performance.now()
  const out = await prepareImage(input, options)
  const elapsed = performance.now() - started
  t.comment(`12 MP: ${input.length} bytes in, ${out.data.length} bytes out (${(100 * out.data.length / input.length).toFixed(1)}%), ${elapsed.toFixed(0)} ms`)

  const after = await metadataOf(out.data)
  t.match(out, { format: 'jpeg', mimeType: 'image/jpeg', width: 768, height: 1024, inputFormat: 'jpeg', inputBytes: input.length, passedThrough: false })
  t.equal(after.format, 'jpeg')
  t.same([after.width, after.height], [768, 1024], 'upright: the stored 4000x3000 turned to portrait')
  t.equal(after.exif, undefined)
  t.equal(after.icc, undefined)
  t.equal(after.xmp, undefined)
  t.equal(after.iptc, undefined)
  t.equal(after.orientation, undefined)
  t.notOk(out.data.includes('Exif'), 'no EXIF header anywhere in the file')
  t.ok(out.data.length <= input.length / 3, 'at most a third of the input bytes')
})

test('the long edge is never shrunk below the request\'s long_resolution', async (t) => {
  const input = await solid(3000, 2000).jpeg().toBuffer()
  const out = await prepareImage(input, { ...options, longResolution: 2048 })
  t.same([out.width, out.height], [2048, 1365])
})

test('a small image is enlarged to the upstream minimums, keeping its aspect', async (t) => {
  const input = await solid(300, 200).jpeg().toBuffer()
  const out = await prepareImage(input, options)
  const after = await metadataOf(out.data)
  t.same([after.width, after.height], [900, 600])
  t.same([out.width, out.height], [900, 600])
})

test('a PNG with real transparency stays PNG with its alpha', async (t) => {
  // an opaque picture with a transparent hole punched in it
  const hole = { create: { width: 300, height: 300, channels: 4 as const, background: { r: 0, g: 0, b: 0, alpha: 1 } } }
  const input = await solid(1200, 900).ensureAlpha(1).composite([{ input: hole, left: 100, top: 100, blend: 'dest-out' }]).png().toBuffer()
  t.equal((await sharp(input).stats()).isOpaque, false)
  const out = await prepareImage(input, options)
  t.match(out, { format: 'png', mimeType: 'image/png', width: 1024, height: 768 })
  const stats = await sharp(out.data).stats()
  t.equal((await metadataOf(out.data)).hasAlpha, true)
  t.equal(stats.isOpaque, false)
})

test('a PNG whose alpha channel is all opaque becomes JPEG', async (t) => {
  const input = await solid(1200, 900).ensureAlpha(1).png().toBuffer()
  t.equal((await metadataOf(input)).hasAlpha, true)
  const out = await prepareImage(input, options)
  t.match(out, { format: 'jpeg', width: 1024, height: 768, inputFormat: 'png' })
  t.equal((await metadataOf(out.data)).format, 'jpeg')
})

test('WebP becomes JPEG, never passed through', async (t) => {
  const input = await solid(1024, 768).webp().toBuffer()
  const out = await prepareImage(input, options)
  t.match(out, { format: 'jpeg', inputFormat: 'webp', passedThrough: false, width: 1024, height: 768 })
  t.equal((await metadataOf(out.data)).format, 'jpeg')
})

test('a colour profile is applied (converted to sRGB) before it is dropped', async (t) => {
  // sharp stores sRGB (200,100,50) as its Display P3 equivalent; ignoring the profile would shift the colour
  const input = await solid(1000, 800, { r: 200, g: 100, b: 50 }).withIccProfile('p3').png().toBuffer()
  const stored = (await sharp(input, { ignoreIcc: true }).stats()).channels.map((c) => Math.round(c.mean))
  const out = await prepareImage(input, options)
  const sent = (await sharp(out.data).stats()).channels.map((c) => Math.round(c.mean))
  t.equal((await metadataOf(out.data)).icc, undefined)
  t.ok(Math.abs((stored[0] ?? 0) - 200) > 8, `the stored values differ from sRGB: ${stored.join(',')}`)
  t.ok([200, 100, 50].every((value, i) => Math.abs((sent[i] ?? 0) - value) <= 3), `sent as sRGB: ${sent.join(',')}`)
})

test('a CMYK JPEG is converted to 3-channel sRGB', async (t) => {
  const input = await solid(1024, 768).toColourspace('cmyk').jpeg().toBuffer()
  const out = await prepareImage(input, options)
  const after = await metadataOf(out.data)
  t.match(after, { format: 'jpeg', space: 'srgb', channels: 3 })
  t.equal(out.passedThrough, false)
})

test('GIF, SVG, BMP and HEIC are refused 415, naming the format and the accepted ones', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['GIF', await solid(900, 700).gif().toBuffer()],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="900" height="700"/>')],
    ['BMP', bmp(900, 700)],
    ['HEIC', ftyp('heic', 'mif1', 'heic')]
  ]
  for (const [name, bytes] of cases) {
    const error = await refusal(bytes)
    t.match(error, { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE' }, name)
    t.match(error.message, name)
    t.match(error.message, 'JPEG, PNG and WebP')
  }
})

test('bytes of no known format are refused 415 with the accepted formats', async (t) => {
  const error = await refusal(Buffer.from('this is not an image at all'))
  t.match(error, { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /not recognised.*JPEG, PNG and WebP/ })
})

test('a truncated JPEG is refused 422', async (t) => {
  const full = await (await photo(1024, 768)).jpeg().toBuffer()
  const error = await refusal(full.subarray(0, Math.floor(full.length * 0.6)))
  t.match(error, { statusCode: 422, code: 'INVALID_IMAGE', message: /JPEG.*could not be decoded/ })
})

test('a truncated PNG is refused 422', async (t) => {
  const full = await (await photo(1024, 768)).png().toBuffer()
  const error = await refusal(full.subarray(0, Math.floor(full.length * 0.6)))
  t.match(error, { statusCode: 422, code: 'INVALID_IMAGE' })
})

test('a JPEG with stray bytes between segments (a decoder warning, common from phones) is accepted', async (t) => {
  const jpeg = await (await photo(1024, 768)).jpeg().toBuffer()
  const firstEnd = 4 + jpeg.readUInt16BE(4)
  const messy = Buffer.concat([jpeg.subarray(0, firstEnd), Buffer.from([0x12, 0x34]), jpeg.subarray(firstEnd)])
  const out = await prepareImage(messy, options)
  t.match(out, { format: 'jpeg', width: 1024, height: 768, passedThrough: false })
})

test('a PNG header alone (IHDR cut short) is refused 422', async (t) => {
  const full = await solid(1024, 768).png().toBuffer()
  t.match(await refusal(full.subarray(0, 40)), { statusCode: 422, code: 'INVALID_IMAGE' })
})

test('a tiny PNG declaring 20000x20000 (400 MP) is refused 413 in well under a second', async (t) => {
  const bomb = pngDeclaring(20000, 20000)
  t.ok(bomb.length < 1024, `${bomb.length} bytes`)
  const started = performance.now()
  const error = await refusal(bomb)
  const elapsed = performance.now() - started
  t.match(error, { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', message: /20000x20000/ })
  t.ok(elapsed < 1000, `refused in ${elapsed.toFixed(1)} ms`)
})

test('the pixel limit is the configured one, not a fixed figure', async (t) => {
  const jpeg = await solid(1000, 1000).jpeg().toBuffer()
  t.match(await refusal(jpeg, { ...options, maxImagePixels: 999_999 }), { statusCode: 413, code: 'PAYLOAD_TOO_LARGE' })
  t.match(await prepareImage(jpeg, { ...options, maxImagePixels: 1_000_000 }), { width: 1000, height: 1000 })
})

test('a 5000x100 panorama cannot fit (wider than 4096:600) and is refused 422, not distorted', async (t) => {
  const input = await solid(5000, 100).jpeg().toBuffer()
  t.match(await refusal(input), { statusCode: 422, code: 'INVALID_IMAGE', message: /5000x100/ })
})

test('an already-fitting 1024x768 JPEG without metadata is passed through byte-identical', async (t) => {
  const input = await (await photo(1024, 768)).jpeg({ quality: 85 }).toBuffer()
  const out = await prepareImage(input, options)
  t.match(out, { format: 'jpeg', mimeType: 'image/jpeg', width: 1024, height: 768, passedThrough: true })
  t.ok(out.data.equals(input))
})

test('a fitting JPEG that carries EXIF is re-encoded without it', async (t) => {
  const input = await solid(1024, 768).jpeg().withExif({ IFD3: PHONE_EXIF.IFD3 }).toBuffer()
  const out = await prepareImage(input, options)
  t.equal(out.passedThrough, false)
  t.equal((await metadataOf(out.data)).exif, undefined)
})

test('a fitting PNG with real transparency and no metadata is passed through', async (t) => {
  const input = await solid(1024, 768).ensureAlpha(0.5).png().toBuffer()
  const out = await prepareImage(input, options)
  t.match(out, { format: 'png', passedThrough: true })
  t.ok(out.data.equals(input))
})

test('a fitting PNG without alpha is converted to JPEG rather than passed through', async (t) => {
  const input = await solid(1024, 768).png().toBuffer()
  const out = await prepareImage(input, options)
  t.match(out, { format: 'jpeg', passedThrough: false })
})

test('a noisy 3000x3000 JPEG allowed at full size is encoded at a lower quality to stay under 5,000,000 bytes', async (t) => {
  // quality 85 makes about 6.4 MB of this; 70 about 4.7 MB
  const input = await sharp(noise(3000, 3000, 3), { raw: { width: 3000, height: 3000, channels: 3 } }).jpeg({ quality: 95 }).toBuffer()
  t.ok(input.length > 5_000_000, `input ${input.length} bytes`)
  const out = await prepareImage(input, { ...options, imageMaxEdge: 3000 })
  t.match(out, { format: 'jpeg', width: 3000, height: 3000 })
  t.ok(out.data.length <= 5_000_000, `output ${out.data.length} bytes`)
})

test('a noisy transparent PNG too big for 5 MB is shrunk and stays PNG', async (t) => {
  // random RGBA does not compress: about 4 bytes a pixel, so 1600x1600 needs shrinking to about 1100x1100
  const input = await sharp(noise(1600, 1600, 4), { raw: { width: 1600, height: 1600, channels: 4 } }).png({ compressionLevel: 1 }).toBuffer()
  t.ok(input.length > 5_000_000, `input ${input.length} bytes`)
  const out = await prepareImage(input, { ...options, imageMaxEdge: 1600 })
  t.equal(out.format, 'png')
  t.ok(out.data.length <= 5_000_000, `output ${out.data.length} bytes at ${out.width}x${out.height}`)
  t.ok(out.width < 1600 && out.width >= 800)
})
