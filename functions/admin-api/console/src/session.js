// The logged-in admin: token and role, kept in localStorage so a reload stays logged in
// until the token expires (1 hour).
import { reactive } from 'vue'

const KEY = 'livenotify.session'

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || 'null')
    if (saved && saved.token && new Date(saved.expires_at) > new Date()) return saved
  } catch {
    /* a broken entry is the same as none */
  }
  return { token: null, expires_at: null, admin: null }
}

/** The current session (reactive). */
export const session = reactive({ ...load(), reason: null })

/** Stores a login answer. */
export function loggedIn(answer) {
  session.token = answer.token
  session.expires_at = answer.expires_at
  session.admin = answer.admin
  session.reason = null
  localStorage.setItem(KEY, JSON.stringify({ token: answer.token, expires_at: answer.expires_at, admin: answer.admin }))
}

/** Forgets the session; `reason` ('expired' or 'ended') is shown on the login page (it
 * travels in the URL: the page reloads). */
export function logout(reason = null) {
  session.token = null
  session.expires_at = null
  session.admin = null
  session.reason = reason
  localStorage.removeItem(KEY)
  if (!location.pathname.endsWith('/login')) location.assign(reason ? `/admin/login?reason=${reason}` : '/admin/login')
}

/** Logs out on the server too (every token of this admin ends), then here. */
export async function signOut() {
  const token = session.token
  if (token) {
    try {
      await fetch('/api/auth/logout', { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    } catch {
      /* offline: the token still ends here, and expires within the hour */
    }
  }
  logout()
}

/** Role of the current admin. */
export const role = () => (session.admin && session.admin.role) || 'viewer'
/** Super admins manage admins and accounts. */
export const isSuper = () => role() === 'super_admin'
/** May change courses, pushes, records and syncs (of `accountId` when given). */
export function canWrite(accountId) {
  if (role() === 'super_admin') return true
  if (role() !== 'operator') return false
  return accountId ? (session.admin.accounts || []).includes(accountId) : true
}
