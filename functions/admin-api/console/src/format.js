// Display helpers: China time, numbers.
const timeFormat = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
})

/** `2026-11-23 19:30:00` in China time, or '—'. */
export function time(value) {
  if (!value) return '—'
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return '—'
  const p = Object.fromEntries(timeFormat.formatToParts(d).map((x) => [x.type, x.value]))
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`
}

/** Thousands separators. */
export const count = (n) => (n ?? 0).toLocaleString('zh-CN')

/** Percentage of part in whole, rounded. */
export const percent = (part, whole) => (whole ? Math.min(100, Math.round((part / whole) * 100)) : 0)
