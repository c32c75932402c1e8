// The demo page's one script: load the key's presets, send the photo to POST /stylize, show the result
// or a human message for the contract's error code. No inline code: it runs under a 'self'-only CSP.

const KEY_STORAGE = 'stylize-proxy.demo.key'
// the job this page waits for, so that a reload finds it again
const JOB_STORAGE = 'stylize-proxy.demo.job'

/** What each contract code means for the person in front of the page. */
const MESSAGES = {
  INVALID_REQUEST: 'The server refused a field: a value is out of range, or the preset is unknown.',
  UNAUTHORIZED: 'The API key is missing, unknown or disabled. Check the key field above.',
  FORBIDDEN: 'This key may not use that preset, or may not send its own prompt.',
  NOT_FOUND: 'The server has no such route: is this page served by stylize-proxy?',
  IDEMPOTENCY_IN_PROGRESS: 'The same request is still running. Wait for it.',
  PAYLOAD_TOO_LARGE: 'The photo is too large (in bytes or in pixels). Try a smaller one.',
  UNSUPPORTED_MEDIA_TYPE: 'This file is not a JPEG, PNG or WebP image. Convert it and try again.',
  INVALID_IMAGE: 'The file claims to be an image but cannot be read, or it is too long and thin to stylize.',
  IDEMPOTENCY_KEY_REUSED: 'That idempotency key was already used for a different request.',
  IMAGE_URL_REJECTED: 'The image URL is not allowed.',
  IMAGE_FETCH_FAILED: 'The image could not be downloaded.',
  CONTENT_REJECTED: 'The content checks refused this photo or its result. Try another photo.',
  RATE_LIMITED: 'Too many requests with this key. Wait for the countdown, then try again.',
  QUOTA_EXCEEDED: "This key's daily quota is used up. Wait for the countdown or use another key.",
  INTERNAL_ERROR: 'Something went wrong inside the proxy. Quote the request id when you report it.',
  UPSTREAM_ERROR: 'The stylization service answered with an error. Try again later.',
  UPSTREAM_BUSY: 'The stylization service is busy. Wait for the countdown, then try again.',
  OVERLOADED: 'The proxy is overloaded right now. Wait for the countdown, then try again.',
  UPSTREAM_TIMEOUT: 'The stylization service took too long to answer. Try again.',
  JOB_NOT_CANCELLABLE: 'The job already runs (or has ended): it can no longer be cancelled.'
}

const $ = (id) => document.getElementById(id)
const form = $('form')
const keyInput = $('key')
const remember = $('remember')
const fileInput = $('file')
const drop = $('drop')
const presetSelect = $('preset')
const params = [...document.querySelectorAll('[data-param]')]
const submit = $('submit')
const cancel = $('cancel')
const status = $('status')
const download = $('download')

let file
let presets = []
let originalUrl
let resultUrl
let running
let countdownTimer

// --- key and presets ------------------------------------------------------------------------------

function currentKey () {
  return keyInput.value.trim()
}

function authHeaders () {
  const key = currentKey()
  return key === '' ? {} : { authorization: `Bearer ${key}` }
}

/** the last key the server refused: never remembered */
let refusedKey

function storeKey () {
  if (remember.checked && currentKey() !== '' && currentKey() !== refusedKey) localStorage.setItem(KEY_STORAGE, currentKey())
  else localStorage.removeItem(KEY_STORAGE)
}

async function loadPresets () {
  const keyStatus = $('key-status')
  if (currentKey() === '') {
    keyStatus.textContent = ''
    return
  }
  keyStatus.textContent = 'Loading the presets for this key…'
  try {
    const response = await fetch('/presets', { headers: authHeaders() })
    const body = await readJson(response)
    if (!response.ok) {
      keyStatus.textContent = `Presets not loaded: ${body?.code ?? response.status}: ${MESSAGES[body?.code] ?? body?.message ?? response.statusText}`
      // a refused key is not kept, and the previous key's presets do not stay listed
      if (response.status === 401) {
        refusedKey = currentKey()
        localStorage.removeItem(KEY_STORAGE)
      }
      presets = []
      fillPresets(false)
      return
    }
    presets = body.presets
    fillPresets(body.allowPrompt === true)
    keyStatus.textContent = `Key accepted: ${presets.length} preset${presets.length === 1 ? '' : 's'} available.`
    void loadUsage()
  } catch (error) {
    keyStatus.textContent = `Presets not loaded: ${error.message}`
  }
}

function sumOf (byCode) {
  return Object.values(byCode ?? {}).reduce((sum, n) => sum + n, 0)
}

/** The key's usage today (GET /usage): what it stylized, what did not go through, its quota left. */
async function loadUsage () {
  const line = $('usage')
  line.hidden = true
  if (currentKey() === '') return
  try {
    const response = await fetch('/usage', { headers: authHeaders() })
    if (!response.ok) return
    const usage = await response.json()
    const today = usage.today
    const parts = [`Today: ${today.succeeded} stylized`]
    const unsuccessful = sumOf(today.failed) + sumOf(today.refused)
    if (unsuccessful > 0) parts.push(`${unsuccessful} failed or refused`)
    if (today.spend !== undefined) parts.push(`spend ${today.spend}${usage.currency ? ` ${usage.currency}` : ''}`)
    parts.push(usage.quota.daily === null ? 'no daily quota' : `daily quota: ${usage.quota.remaining} of ${usage.quota.daily} left`)
    line.textContent = `${parts.join(' · ')}.`
    line.hidden = false
  } catch {
    // usage is a courtesy: the page works without it
  }
}

function fillPresets (allowPrompt) {
  const chosen = presetSelect.value
  presetSelect.replaceChildren(...presets.map((preset) => {
    const option = document.createElement('option')
    option.value = preset.name
    option.textContent = preset.default ? `${preset.name} (default)` : preset.name
    option.selected = chosen === '' ? preset.default : chosen === preset.name
    return option
  }))
  $('prompt-row').hidden = !allowPrompt
  showPresetValues()
}

/** The preset's values become the placeholders: an empty field means "the preset's value". */
function showPresetValues () {
  const preset = presets.find((p) => p.name === presetSelect.value)
  const values = preset?.parameters ?? {}
  for (const input of params) {
    const value = values[input.dataset.param]
    if (input.tagName === 'SELECT') {
      input.options[0].textContent = value === undefined ? 'preset' : `preset (${value === 1 ? 'yes' : 'no'})`
    } else {
      input.placeholder = value === undefined ? '' : String(value)
    }
  }
}

/** The collapsed parameters still apply: say how many differ from the preset. */
function showChangedCount () {
  const changed = params.filter((input) => !input.closest('[hidden]') && input.value.trim() !== '').length + ($('add_logo').checked ? 1 : 0)
  $('changed').textContent = changed === 0 ? '' : `(${changed} changed)`
}

// --- the photo ------------------------------------------------------------------------------------

function formatBytes (bytes) {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

function chooseFile (chosen) {
  if (chosen === undefined) return
  file = chosen
  $('file-name').textContent = `${file.name} (${formatBytes(file.size)})`
  if (originalUrl) URL.revokeObjectURL(originalUrl)
  originalUrl = URL.createObjectURL(file)
  showImage('original', originalUrl, 'Original')
  clearResult()
  clearError()
  status.textContent = 'Photo ready. Press Stylize.'
}

/** Shows an image with its size in the caption; a file the browser cannot draw keeps a placeholder. */
function showImage (name, url, caption, extra = '') {
  const img = $(name)
  const empty = $(`${name}-empty`)
  img.onload = () => {
    img.hidden = false
    empty.hidden = true
    $(`${name}-caption`).textContent = `${caption}: ${img.naturalWidth} × ${img.naturalHeight}${extra}`
  }
  img.onerror = () => {
    img.hidden = true
    empty.hidden = false
    empty.textContent = 'This browser cannot preview the file'
    $(`${name}-caption`).textContent = caption
  }
  img.src = url
}

function clearResult () {
  if (resultUrl) URL.revokeObjectURL(resultUrl)
  resultUrl = undefined
  $('result').hidden = true
  $('result').removeAttribute('src')
  $('result-empty').hidden = false
  $('result-caption').textContent = 'Stylized'
  download.hidden = true
  download.removeAttribute('href')
}

fileInput.addEventListener('change', () => chooseFile(fileInput.files[0]))

drop.addEventListener('dragover', (event) => {
  event.preventDefault()
  drop.classList.add('dragging')
})
drop.addEventListener('dragleave', () => drop.classList.remove('dragging'))
drop.addEventListener('drop', (event) => {
  event.preventDefault()
  drop.classList.remove('dragging')
  chooseFile(event.dataTransfer.files[0])
})
// A photo dropped beside the zone must not make the browser leave the page to open it.
window.addEventListener('dragover', (event) => event.preventDefault())
window.addEventListener('drop', (event) => event.preventDefault())

/** On a phone the results are below the form: scroll to them (a no-op where they are already in view). */
function bringResultsIntoView () {
  document.querySelector('.results').scrollIntoView({ block: 'nearest' })
}

// --- errors ---------------------------------------------------------------------------------------

async function readJson (response) {
  try {
    return await response.json()
  } catch {
    return undefined
  }
}

function clearError () {
  clearInterval(countdownTimer)
  $('error').hidden = true
}

function formatWait (seconds) {
  if (seconds < 60) return `${seconds} s`
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = String(seconds % 60).padStart(2, '0')
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min ${s} s` : `${m} min ${s} s`
}

/** Retry-After is seconds or an HTTP date. */
function retryAfterSeconds (header) {
  if (header === null) return undefined
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : Math.ceil((Date.parse(header) - Date.now()) / 1000)
  return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined
}

function showError ({ title, detail, requestId, retryAfter }) {
  clearError()
  $('error-title').textContent = title
  $('error-detail').textContent = detail
  $('error-request').textContent = requestId ? `Request id: ${requestId}` : ''
  const countdown = $('error-countdown')
  countdown.hidden = retryAfter === undefined
  if (retryAfter !== undefined) {
    const until = Date.now() + retryAfter * 1000
    const tick = () => {
      const left = Math.ceil((until - Date.now()) / 1000)
      if (left > 0) {
        countdown.textContent = `You can try again in ${formatWait(left)}.`
      } else {
        countdown.textContent = 'You can try again now.'
        clearInterval(countdownTimer)
      }
    }
    tick()
    countdownTimer = setInterval(tick, 1000)
  }
  $('error').hidden = false
  status.textContent = 'The request failed.'
  bringResultsIntoView()
}

async function showErrorResponse (response) {
  const body = await readJson(response)
  const code = body?.code
  showError({
    title: MESSAGES[code] ?? `The server answered ${response.status} ${response.statusText}.`,
    detail: code ? `${code} (HTTP ${response.status}): ${body.message}` : `HTTP ${response.status}`,
    requestId: body?.requestId ?? response.headers.get('x-request-id'),
    retryAfter: retryAfterSeconds(response.headers.get('retry-after'))
  })
}

// --- stylize --------------------------------------------------------------------------------------

/** Only the fields the user filled in: the rest come from the preset, on the server. */
function formFields () {
  const fields = new FormData()
  if (presetSelect.value !== '') fields.append('preset', presetSelect.value)
  for (const input of params) {
    if (input.closest('[hidden]')) continue
    const value = input.value.trim()
    if (value !== '') fields.append(input.dataset.param, value)
  }
  if ($('add_logo').checked) {
    const opacity = $('logo_opacity').value.trim()
    fields.append('logo_info', JSON.stringify({
      add_logo: true,
      position: Number($('logo_position').value),
      language: Number($('logo_language').value),
      ...(opacity === '' ? {} : { opacity: Number(opacity) })
    }))
  }
  return fields
}

function extensionOf (type) {
  return { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' }[type] ?? 'img'
}

function setRunning (controller) {
  running = controller
  submit.disabled = controller !== undefined
  cancel.hidden = controller === undefined
  $('result').closest('figure').setAttribute('aria-busy', String(controller !== undefined))
}

/** The form and the photo as one body, ready to send; undefined (and the person told) without a photo. */
function photoRequest () {
  if (file === undefined) {
    showError({ title: 'Choose a photo first.', detail: 'Drop a JPEG, PNG or WebP photo on the drop zone, or choose a file.' })
    fileInput.focus()
    return undefined
  }
  storeKey()
  clearError()
  clearResult()
  const fields = formFields()
  fields.append('image', file, file.name)
  return fields
}

async function stylize () {
  const fields = photoRequest()
  if (fields === undefined) return
  const controller = new AbortController()
  setRunning(controller)
  status.textContent = 'Stylizing… this takes a few seconds.'
  const started = performance.now()
  try {
    const response = await fetch('/stylize', {
      method: 'POST',
      headers: { ...authHeaders(), accept: 'image/*' },
      body: fields,
      signal: controller.signal
    })
    if (!response.ok) {
      await showErrorResponse(response)
      return
    }
    const blob = await response.blob()
    const seconds = ((performance.now() - started) / 1000).toFixed(2)
    resultUrl = URL.createObjectURL(blob)
    showImage('result', resultUrl, 'Stylized', `, ${formatBytes(blob.size)}, in ${seconds} s`)
    download.href = resultUrl
    download.download = `${file.name.replace(/\.[^.]*$/, '')}-stylized.${extensionOf(blob.type)}`
    download.hidden = false
    const requestId = response.headers.get('x-request-id')
    status.textContent = `Done in ${seconds} s${requestId ? ` (request id ${requestId})` : ''}.`
    bringResultsIntoView()
  } catch (error) {
    if (error.name === 'AbortError') {
      status.textContent = 'Cancelled. The server may still finish the call.'
    } else {
      showError({ title: 'The server could not be reached.', detail: error.message })
    }
  } finally {
    setRunning(undefined)
    void loadUsage()
  }
}

// --- jobs: submit, then follow the job (position, estimate) until its image can be fetched -------------

let currentJob

async function submitJob () {
  const fields = photoRequest()
  if (fields === undefined) return
  status.textContent = 'Sending the job…'
  try {
    const response = await fetch('/jobs', { method: 'POST', headers: authHeaders(), body: fields })
    if (response.status !== 202) {
      await showErrorResponse(response)
      return
    }
    const job = await response.json()
    localStorage.setItem(JOB_STORAGE, JSON.stringify({ id: job.job_id, name: file.name }))
    await followJob(job, file.name)
  } catch (error) {
    showError({ title: 'The server could not be reached.', detail: error.message })
  }
}

function describeJob (job) {
  if (job.status === 'queued') {
    const wait = job.estimated_wait_s === undefined ? '' : `, about ${formatWait(Math.max(1, job.estimated_wait_s))}`
    return `Job queued: position ${job.position ?? '?'} in the queue${wait}. You may reload this page.`
  }
  if (job.status === 'running') return 'Job running: the stylization takes a few seconds…'
  return `Job ${job.status}.`
}

/** Long-polls the job until it ends: 10 s at a time keeps the position fresh and the key's rate limit untouched. */
async function followJob (job, name) {
  const controller = new AbortController()
  currentJob = job.job_id
  setRunning(controller)
  try {
    for (;;) {
      status.textContent = describeJob(job)
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) break
      const response = await fetch(`/jobs/${job.job_id}?wait=10`, { headers: authHeaders(), signal: controller.signal })
      if (response.status === 503) {
        await new Promise((resolve) => setTimeout(resolve, (retryAfterSeconds(response.headers.get('retry-after')) ?? 2) * 1000))
        continue
      }
      if (!response.ok) {
        localStorage.removeItem(JOB_STORAGE)
        await showErrorResponse(response)
        return
      }
      job = await response.json()
    }
    localStorage.removeItem(JOB_STORAGE)
    if (job.status === 'failed') {
      showError({ title: MESSAGES[job.error?.code] ?? 'The job failed.', detail: `${job.error?.code} (HTTP ${job.error?.statusCode}): ${job.error?.message}` })
      return
    }
    if (job.status === 'cancelled') {
      status.textContent = 'Job cancelled: it was never sent to the stylization service.'
      return
    }
    const image = await fetch(`/jobs/${job.job_id}/image`, { headers: authHeaders() })
    if (!image.ok) {
      await showErrorResponse(image)
      return
    }
    const blob = await image.blob()
    const seconds = ((Date.parse(job.finished_at) - Date.parse(job.created_at)) / 1000).toFixed(1)
    resultUrl = URL.createObjectURL(blob)
    showImage('result', resultUrl, 'Stylized', `, ${formatBytes(blob.size)}, job done in ${seconds} s`)
    download.href = resultUrl
    download.download = `${(name ?? 'photo').replace(/\.[^.]*$/, '')}-stylized.${extensionOf(blob.type)}`
    download.hidden = false
    status.textContent = `Job done in ${seconds} s (job ${job.job_id}).`
    bringResultsIntoView()
  } catch (error) {
    if (error.name !== 'AbortError') showError({ title: 'The server could not be reached.', detail: error.message })
  } finally {
    currentJob = undefined
    setRunning(undefined)
    void loadUsage()
  }
}

/** Cancel: a queued job is taken out of the queue (never paid); a running one cannot be. */
async function cancelJob () {
  const id = currentJob
  const response = await fetch(`/jobs/${id}`, { method: 'DELETE', headers: authHeaders() })
  if (!response.ok) await showErrorResponse(response)
}

/** A job sent before a reload: follow it again. */
async function resumeJob () {
  const saved = JSON.parse(localStorage.getItem(JOB_STORAGE) ?? 'null')
  if (saved === null || currentKey() === '') return
  const response = await fetch(`/jobs/${saved.id}`, { headers: authHeaders() })
  if (!response.ok) {
    localStorage.removeItem(JOB_STORAGE)
    return
  }
  $('as-job').checked = true
  await followJob(await response.json(), saved.name)
}

form.addEventListener('submit', (event) => {
  event.preventDefault()
  if (running !== undefined) return
  if ($('as-job').checked) void submitJob()
  else void stylize()
})
cancel.addEventListener('click', () => {
  if (currentJob !== undefined) void cancelJob()
  else running?.abort()
})
$('reset').addEventListener('click', () => {
  for (const input of params) input.value = ''
  $('add_logo').checked = false
  showChangedCount()
})
$('parameters').addEventListener('input', showChangedCount)
// The browser cannot point at an invalid field inside a closed <details>: open it first.
form.addEventListener('invalid', (event) => {
  const details = event.target.closest('details')
  if (details) details.open = true
}, true)
presetSelect.addEventListener('change', showPresetValues)
keyInput.addEventListener('change', () => {
  storeKey()
  void loadPresets()
})
remember.addEventListener('change', storeKey)

keyInput.value = localStorage.getItem(KEY_STORAGE) ?? ''
void loadPresets()
void resumeJob()
