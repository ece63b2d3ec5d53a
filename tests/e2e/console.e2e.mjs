// End-to-end test of the admin console in a real headless Chromium (Debian's, driven by
// playwright-core) against a running local stack. Started by tests/e2e/run.sh, which sets
// E2E_URL (the gateway), SANDBOX_URL, ADMIN_USERNAME / ADMIN_PASSWORD and E2E_SCREENSHOTS.
//
// The story: log in, create a course, see its QR codes, push it to the sandbox followers of
// one service account and watch it complete, find the records, export them, delete some,
// sync an account's followers, visit every page, delete the course; then a viewer sees no
// push/edit/delete buttons and the API refuses those calls anyway.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
// playwright-core is a dev dependency of the console package.
const require = createRequire(join(here, '../../functions/admin-api/console/package.json'))
const { chromium } = require('playwright-core')

const BASE = must('E2E_URL')
const SANDBOX = must('SANDBOX_URL')
const ADMIN = process.env.ADMIN_USERNAME || 'admin'
const PASSWORD = must('ADMIN_PASSWORD')
const SHOTS = process.env.E2E_SCREENSHOTS || join(here, 'screenshots')
const ACCOUNT = 'wxhtology00000001'
// The viewer's scope is ACCOUNT only; a course on this one alone stays out of its sight.
const OTHER_ACCOUNT = 'wxonco00000000001'
const FOLLOWERS = 200 // local_gateway::demo::DEMO_FOLLOWERS
const STEP_TIMEOUT = 60_000

function must(name) {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (run tests/e2e/run.sh)`)
  return v
}

async function json(method, url, body, token) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  let parsed = null
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {
    parsed = text
  }
  return { status: response.status, body: parsed }
}

async function until(what, check, timeout = STEP_TIMEOUT) {
  const end = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const started = Date.now()
function step(name) {
  console.log(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${name}`)
}

// --- the stack is ready: demo accounts seeded, template receipts on -------------------------
const login = await json('POST', `${BASE}/api/auth/login`, { username: ADMIN, password: PASSWORD })
assert.equal(login.status, 200, `admin login: ${JSON.stringify(login.body)}`)
const adminToken = login.body.token
await until('the demo accounts', async () => {
  const r = await json('GET', `${BASE}/api/accounts`, undefined, adminToken)
  return r.status === 200 && r.body.items.length >= 3
})
// Receipts (TEMPLATESENDJOBFINISH) turn sent messages into delivered ones.
const settings = await json('PATCH', `${SANDBOX}/sandbox/settings`, { auto_template_receipts: true })
assert.equal(settings.status, 200, `sandbox settings: ${JSON.stringify(settings.body)}`)
// A viewer for the last part.
const viewerPassword = 'viewer-pass-123456'
const viewer = await json('POST', `${BASE}/api/admins`, { username: 'viewer1', display_name: '只读用户', password: viewerPassword, role: 'viewer', accounts: [ACCOUNT] }, adminToken)
assert.equal(viewer.status, 201, `create viewer: ${JSON.stringify(viewer.body)}`)

mkdirSync(SHOTS, { recursive: true })
const profile = mkdtempSync(join(tmpdir(), 'livenotify-e2e-'))
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  viewport: { width: 1440, height: 900 },
  locale: 'zh-CN',
  timezoneId: 'Asia/Shanghai',
  acceptDownloads: true,
})
context.setDefaultTimeout(STEP_TIMEOUT)
const page = context.pages()[0] || (await context.newPage())
const consoleErrors = []
page.on('pageerror', (e) => consoleErrors.push(String(e)))
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false })
const tid = (id) => page.locator(`[data-test="${id}"]`)
// Element Plus puts a text field's attributes on the <input> itself (el-input), or on a wrapper.
const field = (id) => page.locator(`input[data-test="${id}"], [data-test="${id}"] input`).first()
const confirmBox = async () => {
  await page.locator('.el-message-box__btns .el-button--primary').click()
}

let failed = false
try {
  // --- login -----------------------------------------------------------------------------
  step('login page; a wrong password is refused with a message')
  await page.goto(`${BASE}/admin/`)
  await page.waitForURL(/\/admin\/login/)
  await field('username').fill(ADMIN)
  await field('password').fill('wrong-password')
  await tid('login').click()
  await tid('login-error').waitFor()
  await shot('01-login')
  await field('password').fill(PASSWORD)
  await tid('login').click()
  await page.waitForURL(/\/admin\/courses/)
  await tid('course-table').waitFor()
  await page.getByText('暂无数据').first().waitFor()
  await shot('02-courses-empty')

  // --- followers: sync now (the push reads the synced followers) ---------------------------
  step('followers: sync now and follow it to the end')
  await page.goto(`${BASE}/admin/followers/${ACCOUNT}`)
  const followerRows = page.locator('[data-test="follower-table"] .el-table__body .el-table__row')
  await page.locator('[data-test="follower-table"]').getByText('暂无数据').waitFor()
  await tid('sync-now').click()
  await page.locator('[data-test="sync-state"][data-state="completed"]').waitFor({ timeout: 120_000 })
  await until('followers after sync', async () => (await followerRows.count()) >= 50)
  await shot('09-followers-synced')
  await page.goto(`${BASE}/admin/courses`)
  await tid('course-table').waitFor()

  // --- create a course ---------------------------------------------------------------------
  step('create a course (validation first)')
  await tid('course-create').click()
  const form = page.locator('.el-dialog[data-test="course-form"], [data-test="course-form"]').last()
  await tid('course-save').click()
  await form.getByText('必填').first().waitFor()
  const title = `E2E 肿瘤学直播 ${Date.now() % 100000}`
  await field('course-title').fill(title)
  await field('course-speaker').fill('王医生')
  const starts = new Date(Date.now() + 2 * 24 * 3600 * 1000)
  const pad = (n) => String(n).padStart(2, '0')
  const startsText = `${starts.getFullYear()}-${pad(starts.getMonth() + 1)}-${pad(starts.getDate())} 19:30:00`
  const startsInput = field('course-starts')
  await startsInput.click()
  await startsInput.fill(startsText)
  await startsInput.press('Enter')
  await field('course-title').click()
  await field('course-live-url').fill('not a url')
  await tid('course-save').click()
  await form.getByText('请输入 http(s) 开头的地址').waitFor()
  await field('course-live-url').fill('https://live.example.com/e2e')
  await tid(`tpl-enable-${ACCOUNT}`).click()
  await field(`tpl-id-${ACCOUNT}`).fill('tpl-e2e-course')
  // Two reminders: a day before and 15 minutes before.
  await tid('course-reminders').click()
  for (const m of [1440, 15]) {
    await page.locator('.el-select-dropdown__item:visible', { hasText: `提前 ${m} 分钟` }).click()
  }
  await field('course-title').click()
  await page.locator('.el-select-dropdown__item', { hasText: '提前 120 分钟' }).waitFor({ state: 'hidden' })
  assert.match(await form.innerText(), /\{title\} \{speaker\}/, 'the placeholder hint shows the placeholders')
  await shot('03-course-form')
  await tid('course-save').click()

  // --- its QR codes ------------------------------------------------------------------------
  step('QR codes appear once the qr-generator has run')
  await tid('qr-dialog').waitFor()
  await tid('qr-ready').waitFor()
  const images = tid('qr-image')
  await until('QR images', async () => (await images.count()) >= 2)
  await until('QR images loaded', () => images.first().evaluate((img) => img.complete && img.naturalWidth >= 1000))
  await shot('04-course-qr')
  await page.keyboard.press('Escape')
  const row = page.locator('[data-test="course-table"] .el-table__row', { hasText: title })
  await row.waitFor()
  const courses = await json('GET', `${BASE}/api/courses?q=${encodeURIComponent(title.slice(-5))}`, undefined, adminToken)
  const course = courses.body.items.find((c) => c.title === title)
  assert.ok(course, 'the created course is listed by the API')
  assert.equal(new Date(course.starts_at).getTime() % (60 * 1000), 0, 'start time kept to the minute')
  assert.deepEqual(course.reminder_minutes, [1440, 15], 'both reminders saved')

  // --- push it -----------------------------------------------------------------------------
  step('push dialog: preview, test-send, push to all followers of htology')
  await row.locator('[data-test="course-push"]').click()
  await tid('push-dialog').waitFor()
  await tid('push-preview').click()
  // Either the rendered message or, on a server without the preview endpoint, a clear notice.
  await until('a preview result', async () => (await tid('push-previews').locator('pre.preview, .el-alert').count()) > 0)
  await shot('05-push-dialog')
  await tid('push-submit').click()
  await page.waitForURL(/\/admin\/pushes\/[0-9A-Z]+$/)
  const pushId = page.url().split('/').pop()
  step(`push ${pushId}: watching it complete`)
  await page.locator('[data-test="push-summary"][data-status="completed"]').waitFor({ timeout: 120_000 })
  assert.match(await tid('counter-targeted').innerText(), new RegExp(String(FOLLOWERS)))
  assert.match(await tid('counter-sent').innerText(), new RegExp(String(FOLLOWERS)))
  // Receipts (TEMPLATESENDJOBFINISH) arrive after the sends; the page keeps counting them.
  const delivered = async () => Number((await tid('counter-delivered').innerText()).replace(/\D/g, ''))
  await until('receipts counted', async () => (await delivered()) > 0, 60_000)
  await tid('push-chart').locator('canvas').waitFor()
  await page.waitForTimeout(600) // the chart's entry animation
  await shot('06-push-detail')

  // --- the records -------------------------------------------------------------------------
  step('notification records: find, export, bulk delete')
  await page.goto(`${BASE}/admin/deliveries?course=${course.id}`)
  const records = page.locator('[data-test="delivery-table"] .el-table__body .el-table__row')
  await until('records listed', async () => (await records.count()) >= 50)
  await shot('07-deliveries')
  await tid('export').click()
  await tid('export-csv').click()
  await page.locator('[data-test="export-state"][data-state="done"]').waitFor()
  const href = await tid('export-link').getAttribute('href')
  const file = await fetch(href)
  assert.equal(file.status, 200, 'export link downloads')
  const csv = await file.text()
  assert.ok(csv.split('\n').filter((l) => l.trim()).length >= FOLLOWERS + 1, 'export has every record and a header')
  await shot('08-export')
  await page.keyboard.press('Escape')
  await records.nth(0).locator('.el-checkbox').click()
  await records.nth(1).locator('.el-checkbox').click()
  await tid('delivery-bulk-delete').click()
  await confirmBox()
  await page.getByText('已删除：2').waitFor()
  const left = await json('GET', `${BASE}/api/courses/${course.id}/deliveries?limit=1000`, undefined, adminToken)
  assert.equal(left.body.items.length, FOLLOWERS - 2, 'two records deleted')

  // --- the follower's drawer ----------------------------------------------------------------
  step('followers: detail drawer with the user\'s records')
  await page.goto(`${BASE}/admin/followers/${ACCOUNT}`)
  await until('followers listed', async () => (await followerRows.count()) > 0)
  const personOpenid = (await followerRows.nth(5).locator('.mono').first().innerText()).trim()
  await followerRows.nth(5).click()
  await tid('follower-drawer').waitFor()
  await page.locator('.el-drawer .el-table__row').first().waitFor()
  await shot('10-follower-drawer')
  await page.keyboard.press('Escape')
  await tid('follower-drawer').waitFor({ state: 'hidden' })
  step('followers: find one person by openid, with their records across every course')
  await field('follower-find').fill(personOpenid)
  await tid('follower-find-go').click()
  await page.locator('.el-drawer .el-drawer__title', { hasText: personOpenid }).waitFor()
  await page.locator('.el-drawer .el-table__row').first().waitFor()
  await page.keyboard.press('Escape')
  await field('follower-find').fill('o_nobody_here')
  await tid('follower-find-go').click()
  await page.locator('.el-message--error', { hasText: '没有这个 openid' }).waitFor()

  // --- sign-ups ----------------------------------------------------------------------------
  // After the push: the scanning phone becomes a follower, which the push counts would see.
  step('sign-ups: a phone scans the course code; the course lists it with its source')
  const qrView = await json('GET', `${BASE}/api/courses/${course.id}/qr`, undefined, adminToken)
  const code = qrView.body.accounts && qrView.body.accounts[ACCOUNT]
  assert.ok(code, `a parametric code for ${ACCOUNT}: ${JSON.stringify(qrView.body)}`)
  const visitor = await json('POST', `${SANDBOX}/sandbox/accounts/${ACCOUNT}/users`, {})
  assert.equal(visitor.status, 200, JSON.stringify(visitor.body))
  const scanned = await json('POST', `${SANDBOX}/sandbox/phone/scan`, { openid: visitor.body.openid, ticket: code.content })
  assert.equal(scanned.status, 200, JSON.stringify(scanned.body))
  await page.goto(`${BASE}/admin/courses`)
  await row.locator('[data-test="course-signups"]').click()
  await tid('signup-dialog').waitFor()
  const signupRow = page.locator('[data-test="signup-table"] .el-table__row', { hasText: visitor.body.openid })
  await signupRow.waitFor()
  assert.match(await signupRow.innerText(), /扫码关注报名/, 'the source is shown')
  assert.match(await tid('signup-counts').innerText(), /共：1/)
  // The dialog fades in: shoot it once Element Plus's enter transition is over.
  await page.waitForFunction(() => !document.querySelector('.dialog-fade-enter-active'))
  await shot('19-signups')
  await page.keyboard.press('Escape')

  // --- the other pages ---------------------------------------------------------------------
  step('accounts, admins, sync history, audit log, dead letters, pushes')
  for (const [path, test, name] of [
    ['accounts', 'account-table', '11-accounts'],
    ['admins', 'admin-table', '12-admins'],
    ['sync-runs', 'sync-table', '13-sync-runs'],
    ['audit', 'audit-table', '14-audit'],
    ['pushes', 'push-table', '15-pushes'],
  ]) {
    await page.goto(`${BASE}/admin/${path}`)
    await page.locator(`[data-test="${test}"] .el-table__body .el-table__row`).first().waitFor()
    await shot(name)
  }
  step('accounts: upload the domain verification file; it is served at the root')
  await page.goto(`${BASE}/admin/accounts`)
  const accountRow = page.locator('[data-test="account-table"] .el-table__row', { hasText: ACCOUNT })
  await accountRow.locator('[data-test="account-verify"]').click()
  await tid('verify-dialog').waitFor()
  const verifyFile = join(mkdtempSync(join(tmpdir(), 'livenotify-verify-')), 'MP_verify_E2eCode42.txt')
  writeFileSync(verifyFile, 'E2eCode42\n')
  await tid('verify-file').setInputFiles(verifyFile)
  assert.equal(await field('verify-name').inputValue(), 'MP_verify_E2eCode42.txt', 'the name is read from the file')
  await tid('verify-save').click()
  await tid('verify-url').waitFor()
  await page.waitForFunction(() => !document.querySelector('.dialog-fade-enter-active'))
  await shot('18-verification-file')
  const served = await fetch(`${BASE}/MP_verify_E2eCode42.txt`)
  assert.equal(served.status, 200)
  assert.equal(await served.text(), 'E2eCode42', 'WeChat gets the file as uploaded')
  await page.keyboard.press('Escape')
  await page.goto(`${BASE}/admin/dead-letters`)
  await page.locator('[data-test="dead-table"], [data-test="dead-missing"]').first().waitFor()
  await shot('16-dead-letters')
  step('English switch')
  await tid('lang').click()
  await page.getByText('Notification records').first().waitFor()
  await tid('lang').click()
  await page.getByText('通知记录').first().waitFor()

  // --- delete the course -------------------------------------------------------------------
  step('delete the course with confirmation')
  await page.goto(`${BASE}/admin/courses`)
  await row.waitFor()
  await row.locator('[data-test="course-delete"]').click()
  await confirmBox()
  await row.waitFor({ state: 'detached' })
  const gone = await json('GET', `${BASE}/api/courses/${course.id}`, undefined, adminToken)
  assert.equal(gone.status, 404, 'course deleted')

  // --- a viewer ----------------------------------------------------------------------------
  step('viewer: no push/edit/delete buttons; the API refuses anyway')
  const other = await json('POST', `${BASE}/api/courses`, { title: '只读测试课程', starts_at: starts.toISOString(), live_url: 'https://live.example.com/v', templates: { [ACCOUNT]: { template_id: 'tpl', fields: { thing1: '{title}' } } } }, adminToken)
  assert.equal(other.status, 201, JSON.stringify(other.body))
  const hidden = await json('POST', `${BASE}/api/courses`, { title: '范围外课程', starts_at: starts.toISOString(), live_url: 'https://live.example.com/h', templates: { [OTHER_ACCOUNT]: { template_id: 'tpl', fields: { thing1: '{title}' } } } }, adminToken)
  assert.equal(hidden.status, 201, JSON.stringify(hidden.body))
  step('logout ends the session on the server: every token of that admin stops working')
  await tid('logout').click()
  await page.waitForURL(/\/admin\/login/)
  const ended = await json('GET', `${BASE}/api/auth/me`, undefined, adminToken)
  assert.equal(ended.status, 401, 'the admin\'s other token (from the API login) ended too')
  assert.equal(ended.body.code, 'session_ended')
  const relogin = await json('POST', `${BASE}/api/auth/login`, { username: ADMIN, password: PASSWORD })
  assert.equal(relogin.status, 200)
  const adminAgain = relogin.body.token
  await field('username').fill('viewer1')
  await field('password').fill(viewerPassword)
  await tid('login').click()
  await page.waitForURL(/\/admin\/courses/)
  const viewerRow = page.locator('[data-test="course-table"] .el-table__row', { hasText: '只读测试课程' })
  await viewerRow.waitFor()
  await viewerRow.locator('[data-test="course-qr"]').waitFor()
  for (const hidden of ['course-push', 'course-edit', 'course-delete']) {
    assert.equal(await viewerRow.locator(`[data-test="${hidden}"]`).count(), 0, `viewer sees no ${hidden}`)
  }
  assert.equal(await page.locator('[data-test="course-table"] .el-table__row', { hasText: '范围外课程' }).count(), 0, 'viewer does not see a course outside its accounts')
  assert.equal(await tid('course-create').count(), 0, 'viewer sees no create button')
  assert.equal(await tid('menu-admins').count(), 0, 'viewer sees no admins menu')
  await until('the account names in the header', async () => /：htology$/.test(await tid('scope').innerText()))
  await shot('17-viewer-courses')
  await page.goto(`${BASE}/admin/deliveries?course=${other.body.id}`)
  await tid('delivery-course').waitFor()
  assert.equal(await tid('delivery-bulk-delete').count(), 0, 'viewer sees no bulk delete')
  const viewerLogin = await json('POST', `${BASE}/api/auth/login`, { username: 'viewer1', password: viewerPassword })
  const vt = viewerLogin.body.token
  const push = await json('POST', `${BASE}/api/pushes`, { course_id: other.body.id, account_ids: [ACCOUNT], audience: { type: 'all_followers' } }, vt)
  assert.equal(push.status, 403, `viewer push refused: ${JSON.stringify(push.body)}`)
  const outside = await json('GET', `${BASE}/api/courses/${hidden.body.id}`, undefined, vt)
  assert.equal(outside.status, 404, 'a course outside the viewer\'s accounts is not found')
  const del = await json('DELETE', `${BASE}/api/courses/${other.body.id}`, undefined, vt)
  assert.equal(del.status, 403, 'viewer delete refused')
  const still = await json('GET', `${BASE}/api/courses/${other.body.id}`, undefined, adminAgain)
  assert.equal(still.status, 200, 'the refused delete changed nothing')

  step('a session ended elsewhere sends the console back to the login page, saying why')
  const viewerOut = await json('POST', `${BASE}/api/auth/logout`, undefined, vt)
  assert.equal(viewerOut.status, 204)
  await page.goto(`${BASE}/admin/courses`)
  await page.waitForURL(/\/admin\/login\?reason=ended/)
  await page.getByText('登录已失效').first().waitFor()
  await shot('20-session-ended')

  assert.deepEqual(consoleErrors, [], 'no uncaught errors in the page')
  step('all console e2e checks passed')
} catch (e) {
  failed = true
  console.error(e)
  await page.screenshot({ path: join(tmpdir(), 'livenotify-e2e-failure.png'), fullPage: true }).catch(() => {})
  console.error(`failure screenshot: ${join(tmpdir(), 'livenotify-e2e-failure.png')}; page: ${page.url()}`)
} finally {
  await context.close()
  rmSync(profile, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
