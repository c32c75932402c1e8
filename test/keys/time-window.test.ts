import { test } from 'tap'
import { timeWindowMs } from '../../src/keys/time-window.js'

test('milliseconds as a number or digits', async (t) => {
  t.equal(timeWindowMs(1500), 1500)
  t.equal(timeWindowMs(1500.7), 1500)
  t.equal(timeWindowMs('1500'), 1500)
})

test('durations in the words @fastify/rate-limit understands', async (t) => {
  t.equal(timeWindowMs('1 minute'), 60_000)
  t.equal(timeWindowMs('30 seconds'), 30_000)
  t.equal(timeWindowMs('30s'), 30_000)
  t.equal(timeWindowMs('1.5 hours'), 5_400_000)
  t.equal(timeWindowMs('2 Days'), 172_800_000)
  t.equal(timeWindowMs('1 week'), 604_800_000)
  t.equal(timeWindowMs('250ms'), 250)
})

test('not a window: zero, negative, unknown units, words', async (t) => {
  t.equal(timeWindowMs(0), undefined)
  t.equal(timeWindowMs(Number.NaN), undefined)
  t.equal(timeWindowMs('0 minutes'), undefined)
  t.equal(timeWindowMs('0.1ms'), undefined)
  t.equal(timeWindowMs('-1 minute'), undefined)
  t.equal(timeWindowMs('1 fortnight'), undefined)
  t.equal(timeWindowMs('a minute'), undefined)
  t.equal(timeWindowMs(''), undefined)
})
