// The demo page in Debian's Chromium, driven by playwright-core: a person uploads a photo and sees the
// result, or sees the contract's error explained (bad file, wrong key, rate limit with its countdown).
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import sharp from 'sharp'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { DEFAULT_KEYS, photo, startEmulator, startProxy, type TestKey } from '../fixtures/harness.js'
import { submitJob } from '../jobs/fixtures/jobs-client.js'

const CHROMIUM = '/usr/bin/chromium'
const WEB = DEFAULT_KEYS[0]!.key
const SCREENSHOTS = process.env.DEMO_SCREENSHOTS ?? tmpdir()

// Functions passed to page.evaluate run in the page; this project's TypeScript has no DOM library,
// so they name the few browser globals they use.
interface InPage {
  DataTransfer: new () => { items: { add: (file: unknown) => void } }
  DragEvent: new (type: string, init: object) => unknown
  File: new (parts: string[], name: string, options: { type: string }) => unknown
  document: { querySelector: (selector: string) => { textContent: string | null } | null }
}

if (!existsSync(CHROMIUM) && process.env.CI === undefined) {
  t.test('demo page in Chromium', { skip: `${CHROMIUM} is missing (apt-get install chromium); CI always runs this` }, () => {})
} else {
  // Chromium on a 2-core machine shared with the rest of the suite: more than the default 120 s budget
  t.setTimeout(240_000)
  const profile = mkdtempSync(join(tmpdir(), 'stylize-chromium-'))
  let context: BrowserContext
  t.before(async () => {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 }
    })
  })
  t.teardown(async () => {
    await context?.close()
    rmSync(profile, { recursive: true, force: true })
  })

  /** Starts the proxy with the demo page and opens it; fails the test on any script error or CSP report. */
  async function openDemo (tt: Test, options: { faults?: Array<{ name: '50411', probability: number }>, keys?: TestKey[], latencyMs?: number, env?: Record<string, string> } = {}) {
    const emulator = await startEmulator(tt, { faults: options.faults ?? [], latencyMs: options.latencyMs ?? 0 })
    const proxy = await startProxy(tt, { upstreamUrl: emulator.url, env: { DEMO_PAGE: 'true', ...options.env }, keys: options.keys })
    const page = await context.newPage()
    page.setDefaultTimeout(30_000)
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`)
    })
    tt.teardown(async () => { await page.close() })
    await page.goto(`${proxy.url}/`)
    const noProblems = (): void => { tt.same(problems, [], 'no script errors and no CSP refusals') }
    return { page, emulator, proxy, noProblems }
  }

  /** Waits for the result image, or fails with the error the page shows instead. */
  async function resultShown (tt: Test, page: Page): Promise<void> {
    await page.locator('#result:visible, #error:visible').first().waitFor()
    if (await page.locator('#error').isVisible()) tt.fail(`the page shows an error: ${await page.locator('#error').innerText()}`)
  }

  async function enterKey (page: Page, key: string): Promise<void> {
    await page.getByLabel('Client key').fill(key)
    await page.getByLabel('Client key').press('Tab')
  }

  async function errorText (page: Page): Promise<string> {
    await page.locator('#error').waitFor({ state: 'visible' })
    return await page.locator('#error').innerText()
  }

  t.test('upload a photo: the original and the result side by side, with the timing and a download', async (tt) => {
    const quotaKey: TestKey = { id: 'counted', key: 'spk_demo_quota_key_for_tests', dailyQuota: 5 }
    const { page, emulator, noProblems } = await openDemo(tt, { keys: [...DEFAULT_KEYS, quotaKey], env: { PRICE_PER_CALL: '0.2', PRICE_CURRENCY: 'CNY' } })
    await enterKey(page, quotaKey.key)
    await page.getByText('Key accepted: 2 presets available.').waitFor()
    await page.getByText('Today: 0 stylized · spend 0 CNY · daily quota: 5 of 5 left.').waitFor()
    tt.same(await page.locator('#preset option').allTextContents(), ['angel (default)', 'angel-soft'])
    await page.getByLabel('Preset').selectOption('angel-soft')
    tt.equal(await page.getByLabel('Strength').getAttribute('placeholder'), '0.9', "the preset's values show as placeholders")

    await page.getByText('Adjust the parameters').click()
    await page.getByLabel('Long side').fill('512')
    tt.equal(await page.locator('summary').innerText(), 'Adjust the parameters (1 changed)')
    await page.locator('#file').setInputFiles({ name: 'holiday.jpg', mimeType: 'image/jpeg', buffer: await photo(1200, 900) })
    await page.locator('#original').waitFor({ state: 'visible' })
    tt.match(await page.locator('#original-caption').innerText(), /1200 × 900/)

    await page.getByRole('button', { name: 'Stylize' }).click()
    await resultShown(tt, page)
    const natural = await page.locator('#result').evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight])
    tt.same(natural, [512, 384], 'the result is shown at the chosen long side')
    tt.match(await page.locator('#status').innerText(), /^Done in \d+\.\d\d s \(request id [\w-]+\)\.$/)
    tt.match(await page.locator('#result-caption').innerText(), /512 × 384, \d+ KB, in \d+\.\d\d s/)
    const download = page.getByRole('link', { name: 'Download the result' })
    tt.match(await download.getAttribute('href'), /^blob:/)
    tt.equal(await download.getAttribute('download'), 'holiday-stylized.jpg')
    tt.equal(emulator.app.emulatorStats.calls, 1)
    await page.getByText('Today: 1 stylized · spend 0.2 CNY · daily quota: 4 of 5 left.').waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'stylize-demo-result.png'), fullPage: true })

    const [file] = await Promise.all([page.waitForEvent('download'), download.click()])
    const saved = await sharp(await file.path()).metadata()
    tt.same([saved.format, saved.width], ['jpeg', 512], 'the download is the result image')
    noProblems()
  })

  t.test('send as a job: the queue position and estimate while waiting, the job found again after a reload', async (tt) => {
    const { page, proxy, emulator, noProblems } = await openDemo(tt, { latencyMs: 2500, env: { UPSTREAM_CONCURRENCY: '1' } })
    // another client's job holds the one upstream slot, so the page's job has to queue
    const ahead = await submitJob(proxy.url, WEB)
    tt.equal(ahead.status, 202)
    await enterKey(page, WEB)
    await page.getByText('Key accepted: 2 presets available.').waitFor()
    await page.locator('#file').setInputFiles({ name: 'train.jpg', mimeType: 'image/jpeg', buffer: await photo(1200, 900) })
    await page.getByLabel('Send as a job').check()
    await page.getByRole('button', { name: 'Stylize' }).click()
    await page.getByText(/Job queued: position 1 in the queue, about \d+ s\. You may reload this page\./).waitFor()
    await page.screenshot({ path: join(SCREENSHOTS, 'stylize-demo-job-queued.png'), fullPage: true })

    await page.reload()
    await page.getByText(/^Job (queued|running)/).waitFor()
    tt.ok(await page.getByLabel('Send as a job').isChecked(), 'the page knows it follows a job')
    await resultShown(tt, page)
    tt.match(await page.locator('#status').innerText(), /^Job done in \d+\.\d s \(job [\w-]{22}\)\.$/)
    tt.match(await page.locator('#result-caption').innerText(), /Stylized: \d+ × \d+/)
    tt.equal(await page.getByRole('link', { name: 'Download the result' }).getAttribute('download'), 'train-stylized.jpg')
    tt.equal(emulator.app.emulatorStats.calls, 2, 'one call for each job, none for the reload')
    await page.reload()
    await page.getByText('Key accepted: 2 presets available.').waitFor()
    tt.equal(await page.locator('#status').innerText(), 'Choose a photo and press Stylize.', 'a finished job is not followed again')
    noProblems()
  })

  t.test('a file that is not a JPEG, PNG or WebP: the 415 explained, for a dropped text file and a GIF', async (tt) => {
    const { page, emulator, noProblems } = await openDemo(tt)
    await enterKey(page, WEB)
    // A real drop event on the drop zone, as when a file is dragged from the desktop.
    await page.locator('#drop').evaluate((zone) => {
      const { DataTransfer, DragEvent, File } = globalThis as unknown as InPage
      const transfer = new DataTransfer()
      transfer.items.add(new File(['just some notes\n'], 'notes.txt', { type: 'text/plain' }))
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }) as Event)
    })
    tt.match(await page.locator('#file-name').innerText(), /notes\.txt/)
    await page.getByRole('button', { name: 'Stylize' }).click()
    let text = await errorText(page)
    tt.match(text, 'This file is not a JPEG, PNG or WebP image')
    tt.match(text, /UNSUPPORTED_MEDIA_TYPE \(HTTP 415\): .*JPEG, PNG and WebP/)
    tt.match(text, /Request id: [\w-]+/)

    const gif = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c33' } }).gif().toBuffer()
    await page.locator('#file').setInputFiles({ name: 'cat.gif', mimeType: 'image/gif', buffer: gif })
    tt.ok(await page.locator('#error').isHidden(), 'a new photo clears the old error')
    await page.getByRole('button', { name: 'Stylize' }).click()
    text = await errorText(page)
    tt.match(text, 'UNSUPPORTED_MEDIA_TYPE (HTTP 415)')
    tt.ok(await page.locator('#result').isHidden())
    tt.equal(emulator.app.emulatorStats.calls, 0, 'nothing reached the upstream')
    noProblems()
  })

  t.test('a wrong key: the presets are not loaded and the 401 is explained', async (tt) => {
    const { page, emulator, noProblems } = await openDemo(tt)
    await enterKey(page, WEB)
    await page.getByText('Key accepted: 2 presets available.').waitFor()
    await enterKey(page, 'not-a-real-key')
    await page.getByText(/Presets not loaded: UNAUTHORIZED/).waitFor()
    tt.same(await page.locator('#preset option').allTextContents(), [], 'the previous key\'s presets are gone')
    await page.locator('#file').setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: await photo(900, 900) })
    await page.getByRole('button', { name: 'Stylize' }).click()
    const text = await errorText(page)
    tt.match(text, 'The API key is missing, unknown or disabled')
    tt.match(text, 'UNAUTHORIZED (HTTP 401)')
    tt.notMatch(text, 'not-a-real-key', 'the key is never echoed')
    tt.equal(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem: (k: string) => string | null } }).localStorage.getItem('stylize-proxy.demo.key')), null, 'the refused key is not remembered')
    tt.equal(await page.locator('#prompt').getAttribute('maxlength'), '2000', 'the prompt box knows the limit')
    tt.equal(emulator.app.emulatorStats.calls, 0)
    noProblems()
  })

  t.test('rate limited: the 429 is explained with a live countdown from Retry-After', async (tt) => {
    const { page, noProblems } = await openDemo(tt, { keys: [{ id: 'tight', key: 'spk_tight_demo', rateLimit: { max: 2, timeWindow: '1 minute' } }] })
    await enterKey(page, 'spk_tight_demo') // GET /presets: 1 of 2
    await page.getByText('Key accepted').waitFor()
    await page.locator('#file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: await photo(1000, 800, { format: 'png' }) })
    await page.getByRole('button', { name: 'Stylize' }).click() // 2 of 2
    await resultShown(tt, page)
    await page.getByRole('button', { name: 'Stylize' }).click() // limited
    const text = await errorText(page)
    tt.match(text, 'Too many requests with this key')
    tt.match(text, 'RATE_LIMITED (HTTP 429)')
    const timer = page.getByRole('timer')
    const first = Number(/try again in (\d+) s/.exec(await timer.innerText())?.[1])
    tt.ok(first > 0 && first <= 60, `the countdown starts within the window (${first} s)`)
    await page.waitForFunction((start) => {
      const timerText = (globalThis as unknown as InPage).document.querySelector('[role=timer]')?.textContent
      const left = Number(/in (\d+) s/.exec(timerText ?? '')?.[1])
      return left < start
    }, first)
    tt.pass('the countdown goes down by itself')
    await page.screenshot({ path: join(SCREENSHOTS, 'stylize-demo-rate-limited.png'), fullPage: true })
    noProblems()
  })

  t.test('content refused by moderation: CONTENT_REJECTED explained', async (tt) => {
    const { page, noProblems } = await openDemo(tt, { faults: [{ name: '50411', probability: 1 }] })
    await enterKey(page, WEB)
    await page.locator('#file').setInputFiles({ name: 'me.jpg', mimeType: 'image/jpeg', buffer: await photo(900, 1200) })
    await page.getByRole('button', { name: 'Stylize' }).click()
    const text = await errorText(page)
    tt.match(text, 'The content checks refused this photo')
    tt.match(text, 'CONTENT_REJECTED (HTTP 422)')
    tt.ok(await page.getByRole('timer').isHidden(), 'no countdown without Retry-After')
    noProblems()
  })
}
