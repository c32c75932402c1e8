import { test } from 'tap'
import { allowsPreset } from '../../src/keys/policy.js'
import type { ClientKey } from '../../src/keys/store.js'

const base: ClientKey = { id: 'a', presets: '*', allowPrompt: false, disabled: false }

test('"*" allows every preset', async (t) => {
  t.equal(allowsPreset(base, 'angel'), true)
  t.equal(allowsPreset(base, 'anything'), true)
})

test('a list allows only its presets', async (t) => {
  const key = { ...base, presets: ['angel'] }
  t.equal(allowsPreset(key, 'angel'), true)
  t.equal(allowsPreset(key, 'angel-soft'), false)
})
