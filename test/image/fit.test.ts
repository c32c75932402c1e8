import { test } from 'tap'
import { canFitUpstream, fitUpstream } from '../../src/image/fit.js'

test('a large landscape photo is shrunk to the long-edge target', async (t) => {
  t.same(fitUpstream(4000, 3000, 1024), { width: 1024, height: 768 })
  t.same(fitUpstream(3000, 4000, 1024), { width: 768, height: 1024 })
})

test('the target is never below 800 nor above 4096', async (t) => {
  t.same(fitUpstream(4000, 3000, 256), { width: 800, height: 600 })
  t.same(fitUpstream(8000, 6000, 9000), { width: 4096, height: 3072 })
})

test('a shrink that would leave the short side under 600 stops at 600', async (t) => {
  t.same(fitUpstream(4000, 1000, 1024), { width: 2400, height: 600 })
})

test('small images are enlarged just enough, keeping the aspect ratio', async (t) => {
  t.same(fitUpstream(300, 200, 1024), { width: 900, height: 600 })
  t.same(fitUpstream(400, 400, 1024), { width: 800, height: 800 })
  t.same(fitUpstream(1, 1, 1024), { width: 800, height: 800 })
})

test('an image already within bounds and under the target is left as it is', async (t) => {
  t.same(fitUpstream(1024, 768, 1024), { width: 1024, height: 768 })
  t.same(fitUpstream(800, 600, 1024), { width: 800, height: 600 })
})

test('shapes up to 4096:600 fit; wider ones do not', async (t) => {
  t.ok(canFitUpstream(4096, 600))
  t.same(fitUpstream(4096, 600, 1024), { width: 4096, height: 600 })
  t.same(fitUpstream(100, 682, 1024), { width: 600, height: 4092 })
  t.notOk(canFitUpstream(4097, 600))
  t.equal(fitUpstream(5000, 100, 1024), undefined)
  t.equal(fitUpstream(0, 100, 1024), undefined)
})
