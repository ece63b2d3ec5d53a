// The accounts list, read once and shared by the pages that pick accounts.
import { ref } from 'vue'
import { api } from './api.js'

const accounts = ref([])
let loading = null

/** Every account (cached; `fresh` reloads). */
export async function loadAccounts(fresh = false) {
  if (!fresh && accounts.value.length) return accounts.value
  if (!loading || fresh) {
    loading = api('GET', '/api/accounts?limit=1000')
      .then((page) => (accounts.value = page.items))
      .finally(() => (loading = null))
  }
  await loading
  return accounts.value
}

/** The shared reactive list. */
export const accountList = accounts

/** Display name of an account id. */
export const accountName = (id) => (accounts.value.find((a) => a.id === id) || {}).name || id
