// The "AI generated" mark the service adds when logo_info.add_logo is true, as an SVG overlay for sharp.
import type { Gravity } from 'sharp'
import type { LogoInfo } from './validate.js'

const GRAVITY_BY_POSITION: Gravity[] = ['southeast', 'southwest', 'northwest', 'northeast']

export interface WatermarkOverlay {
  input: Buffer
  gravity: Gravity
}

/** An overlay sized to the image's long side, for sharp's composite(). */
export function watermarkOverlay (logo: LogoInfo, imageWidth: number, imageHeight: number): WatermarkOverlay {
  const english = logo.language === 1
  const text = english ? 'AI generated' : 'AI生成'
  const fontSize = Math.max(12, Math.round(Math.max(imageWidth, imageHeight) / 30))
  // A rough text width (Latin glyphs ~0.6 em, CJK 1 em), so the box fits its text.
  const textWidth = english ? text.length * fontSize * 0.6 : (2 * 0.6 + 2) * fontSize
  const padding = Math.round(fontSize / 2)
  const boxWidth = Math.ceil(textWidth + 2 * padding)
  const boxHeight = fontSize + 2 * padding
  // The transparent margin keeps the box off the image's edge; the overlay never exceeds the image.
  const width = Math.min(imageWidth, boxWidth + 2 * padding)
  const height = Math.min(imageHeight, boxHeight + 2 * padding)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<g opacity="${logo.opacity}">` +
    `<rect x="${padding}" y="${padding}" width="${boxWidth}" height="${boxHeight}" rx="${padding}" fill="#000000"/>` +
    `<text x="${2 * padding}" y="${2 * padding + fontSize * 0.85}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#ffffff">${text}</text>` +
    '</g></svg>'
  return { input: Buffer.from(svg), gravity: GRAVITY_BY_POSITION[logo.position] ?? 'southeast' }
}
