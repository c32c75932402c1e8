// The emulator's stand-in for the model: a deterministic "white plaster statue" look made with sharp.
import sharp from 'sharp'
import type { LogoInfo } from './validate.js'
import { watermarkOverlay } from './watermark.js'

export interface StylizeOptions {
  /** the output's long side, in pixels */
  longResolution: number
  logo: LogoInfo
}

/** Same bytes and options give the same JPEG bytes. */
export async function stylizeImage (input: Buffer, options: StylizeOptions): Promise<Buffer> {
  const { data, info } = await sharp(input)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(options.longResolution, options.longResolution, { fit: 'inside' })
    .modulate({ saturation: 0, brightness: 1.1 })
    .blur(1.2)
    // Lift the shadows towards plaster white, a little warmer in red than in blue.
    .linear([0.7, 0.7, 0.7], [86, 80, 72])
    .raw()
    .toBuffer({ resolveWithObject: true })
  const image = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
  if (options.logo.addLogo) image.composite([watermarkOverlay(options.logo, info.width, info.height)])
  return await image.jpeg({ quality: 88 }).toBuffer()
}
