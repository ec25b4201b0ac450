/** Builds the dashboard into dist/web, which `plimsoll serve` serves; in development, /api goes to a local server. */
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const API = 'http://127.0.0.1:8080'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The server sends a strict CSP (script-src 'self'): nothing may be inlined into index.html.
    assetsInlineLimit: 0,
  },
  server: { proxy: { '/api': API } },
  preview: { proxy: { '/api': API } },
})
