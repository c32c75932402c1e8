// GET /presets: the presets this key may use, with their parameters.
import type { FastifyInstance } from 'fastify'
import { allowsPreset } from '../keys/policy.js'
import type { ClientKey } from '../keys/store.js'
import { DEFAULT_PRESET, type Preset } from './presets.js'

export async function presetsRoutes (app: FastifyInstance, options: { presets: () => Record<string, Preset> }): Promise<void> {
  app.get('/presets', { config: { requiresKey: true } }, async (request) => {
    const key = request.clientKey as ClientKey
    const presets = Object.entries(options.presets())
      .filter(([name]) => allowsPreset(key, name))
      .map(([name, parameters]) => ({ name, default: name === DEFAULT_PRESET, parameters }))
    return { presets, allowPrompt: key.allowPrompt }
  })
}
