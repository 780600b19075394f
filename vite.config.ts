import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

/**
 * Builds the web view (index.html) and the Zoho CRM widget (widget.html) into app/, the folder
 * `zet pack` zips and the Node server and Workers Static Assets serve. Relative asset paths,
 * no source maps and no dotted folder names, so zet keeps every file.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./widget', import.meta.url)),
  base: './',
  resolve: {
    alias: { '#shared': fileURLToPath(new URL('./shared', import.meta.url)) },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./app', import.meta.url)),
    emptyOutDir: true,
    sourcemap: false,
    assetsDir: 'assets',
    target: 'es2020',
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./widget/index.html', import.meta.url)),
        widget: fileURLToPath(new URL('./widget/widget.html', import.meta.url)),
      },
    },
  },
})
