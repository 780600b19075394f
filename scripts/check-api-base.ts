/**
 * First step of `npm run package:widget`: the zip is served from Zoho's host, so the widget can only
 * reach the API through the PP_API_BASE baked into widget.html (vite.config.ts). Without a usable one
 * the zip builds fine and fails only once it runs inside Zoho CRM, so stop here instead.
 */
import { pathToFileURL } from 'node:url'

const EXAMPLE = 'PP_API_BASE=https://your-pipeline-pulse-host npm run package:widget'

/**
 * Loopback over plain http passes: browsers count http://localhost and http://127.0.0.1 as secure
 * contexts, so the https Zoho page may call them (no mixed-content block), which lets a developer try
 * a Zoho-hosted zip against `npm start` on their own machine. Any other http address would be
 * blocked by the browser. ([::1] is left out: vite.config.ts strips the brackets.)
 */
const LOOPBACK = new Set(['localhost', '127.0.0.1'])

/** Why this PP_API_BASE cannot go into a widget zip, as one line; null when it can. */
export function apiBaseProblem(value: string | undefined): string | null {
  const v = value?.trim() ?? ''
  if (!v)
    return `PP_API_BASE is not set: the widget in Zoho CRM would not know where the API is. Run ${EXAMPLE}`
  let url: URL
  try {
    url = new URL(v)
  } catch {
    return `PP_API_BASE must be an https URL such as https://your-pipeline-pulse-host, not "${v}"`
  }
  const loopbackHttp = url.protocol === 'http:' && LOOPBACK.has(url.hostname)
  if (url.protocol !== 'https:' && !loopbackHttp)
    return `PP_API_BASE must be an https URL (Zoho serves the widget over https), not "${v}"`
  // vite.config.ts drops any other character, so the widget would call a different address.
  // (Also catches `https:host`, which URL accepts but the widget would read as a relative path.)
  if (url.username || url.password || url.search || url.hash || !/^https?:\/\/[A-Za-z0-9:/._-]+$/.test(v))
    return `PP_API_BASE must be the API's base URL alone (scheme, host, optional port and path), not "${v}"`
  return null
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problem = apiBaseProblem(process.env.PP_API_BASE)
  if (problem) {
    console.error(`package:widget: ${problem}`)
    process.exit(1)
  }
}
