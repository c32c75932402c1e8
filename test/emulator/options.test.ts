import { test } from 'tap'
import { emulatorOptionsFromEnv, parseFaults } from '../../src/emulator/options.js'

test('parseFaults reads name:probability lists', async (t) => {
  t.same(parseFaults('50429:0.2, hang:0.05'), [{ name: '50429', probability: 0.2 }, { name: 'hang', probability: 0.05 }])
  t.same(parseFaults('reset:1,malformed:0'), [{ name: 'reset', probability: 1 }, { name: 'malformed', probability: 0 }])
})

test('parseFaults: a bare name is certain, an empty spec is no fault', async (t) => {
  t.same(parseFaults('50500'), [{ name: '50500', probability: 1 }])
  t.same(parseFaults(''), [])
  t.same(parseFaults(' , '), [])
})

test('parseFaults throws a clear error on a bad spec', async (t) => {
  t.throws(() => parseFaults('50400:0.1'), /unknown fault "50400".*known faults: 50429/)
  t.throws(() => parseFaults('hang:2'), /probability from 0 to 1/)
  t.throws(() => parseFaults('hang:x'), /probability from 0 to 1/)
  t.throws(() => parseFaults('hang:'), /probability from 0 to 1/)
  t.throws(() => parseFaults('hang:0.1:3'), /probability from 0 to 1/)
})

test('emulatorOptionsFromEnv: the development defaults', async (t) => {
  t.same(emulatorOptionsFromEnv({}), {
    accessKeyId: 'AKLTdev',
    secretAccessKey: 'dev-secret',
    latencyMs: 0,
    concurrency: 0,
    faults: [],
    urlTtlMs: 86_400_000
  })
})

test('emulatorOptionsFromEnv reads every variable', async (t) => {
  t.same(emulatorOptionsFromEnv({
    EMULATOR_ACCESS_KEY_ID: 'AKLTx',
    EMULATOR_SECRET_ACCESS_KEY: 's',
    EMULATOR_SESSION_TOKEN: 'tok',
    EMULATOR_LATENCY_MS: '250',
    EMULATOR_CONCURRENCY: '2',
    EMULATOR_FAULTS: 'hang:0.5',
    EMULATOR_REGION: 'cn-beijing',
    EMULATOR_SERVICE: 'cv2',
    EMULATOR_URL_TTL_MS: '60000'
  }), {
    accessKeyId: 'AKLTx',
    secretAccessKey: 's',
    sessionToken: 'tok',
    latencyMs: 250,
    concurrency: 2,
    faults: [{ name: 'hang', probability: 0.5 }],
    urlTtlMs: 60_000,
    region: 'cn-beijing',
    service: 'cv2'
  })
})

test('emulatorOptionsFromEnv refuses numbers that are not non-negative integers', async (t) => {
  t.throws(() => emulatorOptionsFromEnv({ EMULATOR_LATENCY_MS: '-1' }), /EMULATOR_LATENCY_MS must be a non-negative integer/)
  t.throws(() => emulatorOptionsFromEnv({ EMULATOR_CONCURRENCY: '1.5' }), /EMULATOR_CONCURRENCY/)
  t.throws(() => emulatorOptionsFromEnv({ EMULATOR_FAULTS: 'nope' }), /EMULATOR_FAULTS/)
})
