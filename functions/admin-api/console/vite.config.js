import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Served by admin-api under /admin; the dev server proxies the API to a running `make dev`.
export default defineConfig({
  base: '/admin/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Libraries change rarely: their own hashed files stay cached across console releases.
        manualChunks(id) {
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) return 'echarts'
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) return 'element-plus'
          if (id.includes('node_modules/')) return 'vendor'
        },
      },
    },
  },
  server: {
    proxy: { '/api': process.env.LIVENOTIFY_API || 'http://127.0.0.1:8080' },
  },
})
