// What a client key may do, as pure functions of the key.
import type { ClientKey } from './store.js'

export function allowsPreset (key: ClientKey, preset: string): boolean {
  return key.presets === '*' || key.presets.includes(preset)
}
