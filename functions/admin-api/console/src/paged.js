// Cursor-paged lists ({items, next_cursor}) with loading and error state.
import { ref } from 'vue'
import { api } from './api.js'

/** A list read page by page from `path()` (a function, so filters are read at call time). */
export function usePaged(path, { limit = 50 } = {}) {
  const items = ref([])
  const loading = ref(false)
  const error = ref(null)
  const next = ref(null)

  async function load(cursor) {
    loading.value = true
    error.value = null
    try {
      const base = path()
      if (!base) {
        items.value = []
        next.value = null
        return
      }
      const sep = base.includes('?') ? '&' : '?'
      const page = await api('GET', `${base}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      items.value = cursor ? items.value.concat(page.items) : page.items
      next.value = page.next_cursor || null
    } catch (e) {
      error.value = e
      if (!cursor) items.value = []
    } finally {
      loading.value = false
    }
  }

  return { items, loading, error, next, reload: () => load(null), more: () => load(next.value) }
}
