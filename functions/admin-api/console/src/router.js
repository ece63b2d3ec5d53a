// Pages of the console; every page but login needs a session.
import { createRouter, createWebHistory } from 'vue-router'
import { session } from './session.js'

const routes = [
  { path: '/login', name: 'login', component: () => import('./views/LoginPage.vue'), meta: { public: true } },
  { path: '/', redirect: '/courses' },
  { path: '/courses', name: 'courses', component: () => import('./views/CoursesPage.vue') },
  { path: '/pushes', name: 'pushes', component: () => import('./views/PushesPage.vue') },
  { path: '/pushes/:id', name: 'push', component: () => import('./views/PushDetailPage.vue'), props: true },
  { path: '/followers/:accountId?', name: 'followers', component: () => import('./views/FollowersPage.vue'), props: true },
  { path: '/deliveries', name: 'deliveries', component: () => import('./views/DeliveriesPage.vue') },
  { path: '/accounts', name: 'accounts', component: () => import('./views/AccountsPage.vue') },
  { path: '/admins', name: 'admins', component: () => import('./views/AdminsPage.vue') },
  { path: '/sync-runs', name: 'sync-runs', component: () => import('./views/SyncRunsPage.vue') },
  { path: '/audit', name: 'audit', component: () => import('./views/AuditPage.vue') },
  { path: '/dead-letters', name: 'dead-letters', component: () => import('./views/DeadLettersPage.vue') },
  { path: '/:rest(.*)*', redirect: '/courses' },
]

/** The console's router (history mode under /admin/). */
export const router = createRouter({ history: createWebHistory('/admin/'), routes })

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!session.token || new Date(session.expires_at) <= new Date()) {
    return { name: 'login', query: { next: to.fullPath } }
  }
  return true
})
