import { defineConfig, type Plugin } from 'vite'
import { fileURLToPath } from 'node:url'

/**
 * The widget is served from Zoho's host (*.zappsusercontent.com), so it needs the API's absolute URL:
 * PP_API_BASE=https://pulse.example.com npm run package:widget. Empty: the page's own origin.
 */
function apiBaseMeta(): Plugin {
  const value = (process.env.PP_API_BASE ?? '').replace(/[^A-Za-z0-9:/._-]/g, '')
  return {
    name: 'pp-api-base',
    transformIndexHtml: (html) => html.replace('__PP_API_BASE__', value),
  }
}

/**
 * Builds the web view (index.html) and the Zoho CRM widget (widget.html) into app/, the folder
 * `zet pack` zips and the Node server and Workers Static Assets serve. Relative asset paths,
 * no source maps and no dotted folder names, so zet keeps every file.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./widget', import.meta.url)),
  base: './',
  plugins: [apiBaseMeta()],
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
    // Only file types zet packs (.js/.css/.html/.svg/.png/.woff2…): no .map, and tiny assets inline.
    assetsInlineLimit: 8192,
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./widget/index.html', import.meta.url)),
        widget: fileURLToPath(new URL('./widget/widget.html', import.meta.url)),
      },
    },
  },
})
