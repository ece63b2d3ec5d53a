// The admin API client: bearer token, JSON in and out, errors as ApiError with the
// server's Chinese message and field details.
import { session, logout } from './session.js'

/** An answer other than 2xx (or no answer at all). */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`)
    this.status = status
    this.code = (body && body.code) || (status === 0 ? 'network' : 'http')
    this.details = (body && body.details) || null
  }
  /** Field errors of a 422: [{field, key, message}]. */
  get fields() {
    const f = this.details && this.details.fields
    return Array.isArray(f) ? f : []
  }
}

/** Calls `method path` with an optional JSON body; resolves to the JSON answer (null for 204). */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (session.token) headers.authorization = `Bearer ${session.token}`
  let response
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch (e) {
    throw new ApiError(0, { message: `无法连接服务器（${e.message}）` })
  }
  const text = await response.text()
  let json = null
  try {
    json = text ? JSON.parse(text) : null
  } catch {
    json = null
  }
  if (!response.ok) {
    // An ended session (logout elsewhere, a new password, a role or scope change) or an
    // expired one: back to the login page, which says which.
    if (response.status === 401 && session.token) logout(json && json.code === 'session_ended' ? 'ended' : 'expired')
    throw new ApiError(response.status, json || { message: text.slice(0, 200) || `HTTP ${response.status}` })
  }
  return json
}

/** Builds `path?k=v` leaving out empty values. */
export function withQuery(path, query) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === '') continue
    q.set(k, v instanceof Date ? v.toISOString() : String(v))
  }
  const s = q.toString()
  return s ? `${path}?${s}` : path
}

/** Human text of an error: message plus each field's message. */
export function describe(error) {
  if (!(error instanceof ApiError)) return String((error && error.message) || error)
  const fields = error.fields.map((f) => `${f.field}：${f.message}`)
  return fields.length ? `${error.message}（${fields.join('；')}）` : error.message
}

/** True when the endpoint is not on this server yet (404 no_route / 405). */
export function isMissingEndpoint(error) {
  return error instanceof ApiError && ((error.status === 404 && error.code === 'no_route') || error.status === 405)
}
