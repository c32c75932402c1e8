import { test } from 'tap'
import { BUILT_IN_PRESETS, PresetsFileError, REQ_KEY, SEED_PROMPT, mergePresets, upstreamParameters } from '../../src/stylize/presets.js'

test('angel is the seed request example', async (t) => {
  t.same(BUILT_IN_PRESETS.angel, {
    prompt: SEED_PROMPT, strength: 0.6, seed: -1, scale: 8, ddim_steps: 20, lora_multipers: {}, clip_skip: 1, canny_weight: 0.8, i2i_keep_texture: 1, long_resolution: 704, id_scale: 0
  })
})

test('angel-soft is the seed suggested column', async (t) => {
  t.same(BUILT_IN_PRESETS['angel-soft'], {
    prompt: SEED_PROMPT,
    strength: 0.9,
    seed: -1,
    scale: 7,
    ddim_steps: 25,
    lora_multipers: { shanzhagaoSomeSortOf_v1Epoch10: 0.4, Colorwater_v4: 0.2, Moxin_Shukezouma11: 0.2 },
    clip_skip: 2,
    canny_weight: 0.8,
    i2i_keep_texture: 1,
    long_resolution: 704,
    id_scale: 0.5
  })
})

test('client values override the preset and req_key is always the server one', async (t) => {
  const body = upstreamParameters(BUILT_IN_PRESETS.angel!, { strength: 0.3, seed: 42 })
  t.equal(body.strength, 0.3)
  t.equal(body.seed, 42)
  t.equal(body.scale, 8)
  t.equal(body.req_key, REQ_KEY)
})

test('a presets file overrides a built-in field by field and adds new presets', async (t) => {
  const presets = mergePresets(JSON.stringify({
    presets: {
      angel: { strength: 0.5 },
      'big-soft': { extends: 'angel-soft', long_resolution: 1024 },
      plain: { prompt: 'a statue' }
    }
  }), 'presets.json')
  t.equal(presets.angel?.strength, 0.5)
  t.equal(presets.angel?.scale, 8)
  t.equal(presets['big-soft']?.long_resolution, 1024)
  t.equal(presets['big-soft']?.clip_skip, 2)
  t.equal(presets.plain?.prompt, 'a statue')
  t.equal(presets.plain?.ddim_steps, 20, 'a new preset starts from angel')
  t.equal(presets['angel-soft']?.strength, 0.9)
})

test('a broken presets file is refused with its reason', async (t) => {
  t.throws(() => mergePresets('{', 'p.json'), PresetsFileError)
  t.throws(() => mergePresets(JSON.stringify({ presets: { angel: { strength: 3 } } }), 'p.json'), /strength/)
  t.throws(() => mergePresets(JSON.stringify({ presets: { angel: { req_key: 'other' } } }), 'p.json'), PresetsFileError)
  t.throws(() => mergePresets(JSON.stringify({ presets: { x: { extends: 'nope' } } }), 'p.json'), /unknown preset/)
})
