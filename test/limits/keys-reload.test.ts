// A keys file edited while the proxy runs takes effect without a restart (file watch, as start.ts sets
// up); a broken edit keeps the last good keys. Limits follow the key id through the reload.
import { writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { startProxy, startRecordingUpstream } from '../fixtures/harness.js'
import { sha256Hex } from '../../src/upstream/sign.js'
import { until } from '../redis/fixtures/redis.js'
import { getPresets } from './fixtures/replicas.js'

test('an edited keys file is reloaded through the proxy; a broken edit keeps the last good keys', async (t) => {
  const upstream = await startRecordingUpstream(t)
  const proxy = await startProxy(t, { upstreamUrl: upstream.url, keys: [{ id: 'old', key: 'spk_old_key' }], env: { RATE_LIMIT_MAX: '10000' } })
  t.teardown(proxy.keyRing.watch(50))
  const old = { authorization: 'Bearer spk_old_key' }
  const fresh = { authorization: 'Bearer spk_new_key' }
  t.equal((await getPresets(proxy, old)).status, 200)
  t.equal((await getPresets(proxy, fresh)).status, 401)

  writeFileSync(proxy.keysFile, JSON.stringify({
    keys: [
      { id: 'old', sha256: sha256Hex('spk_old_key'), rateLimit: { max: 100, timeWindow: '1 minute' } },
      { id: 'new', sha256: sha256Hex('spk_new_key') }
    ]
  }))
  await until(async () => (await getPresets(proxy, fresh)).status === 200, 30_000, 'the new key')
  t.pass('a key added to the file works without a restart')
  t.equal((await getPresets(proxy, old)).headers['x-ratelimit-limit'], '100', 'the new limit of a key applies')

  writeFileSync(proxy.keysFile, '{ "keys": [ { "id": "old", ')
  await until(() => /keeping the last good keys/.test(proxy.logText()), 30_000, 'the refusal in the log')
  await sleep(100)
  t.equal((await getPresets(proxy, old)).status, 200, 'the last good keys stay')
  t.equal((await getPresets(proxy, fresh)).status, 200)
  t.notMatch(proxy.logText(), sha256Hex('spk_new_key'), 'no hash in the log')
})
