import { render, type ComponentChild } from 'preact'
import { NotInCrmError, zohoReady } from './zoho'
import './styles.css'

/**
 * Zoho CRM widget entry, kept tiny: the SDK handshake runs while the app chunk downloads.
 * The page is served from Zoho's host, so the API base URL comes from <meta name="pp-api-base">,
 * filled at build time from PP_API_BASE (vite.config.ts); when empty, this page's own origin
 * (the widget served by the Pipeline Pulse server itself, or external hosting).
 */
function apiBaseSetting(): string {
  const v = document.querySelector<HTMLMetaElement>('meta[name="pp-api-base"]')?.content?.trim() ?? ''
  return v && !v.startsWith('__') ? v.replace(/\/+$/, '') : location.origin
}

const root = document.getElementById('root')!
/** Replaces the static placeholder of widget.html (Preact would otherwise keep it). */
const show = (node: ComponentChild) => {
  root.textContent = ''
  render(node, root)
}
const base = apiBaseSetting()
const app = import('./widget-main')

function OutsideCrm() {
  return (
    <div class="card signin" role="alert" data-testid="outside-crm">
      <h1>Open this inside Zoho CRM</h1>
      <p class="muted">
        This page is the Pipeline Pulse widget: it works inside Zoho CRM (a web tab or a Deal's related list).
        Outside CRM, use the web view.
      </p>
      <a class="btn primary" href={`${base}/`} target="_top">
        Open the Pipeline Pulse web view
      </a>
    </div>
  )
}

// Zoho-hosted (zet zip) with no PP_API_BASE baked in: there is no API on Zoho's host, so say so.
const misconfigured = base === location.origin && /\.zappsusercontent\./.test(location.hostname)

if (misconfigured)
  show(
    <div class="state error" role="alert">
      This widget was packaged without its API address. Rebuild it with
      PP_API_BASE=https://your-pipeline-pulse-host npm run package:widget and upload the new zip.
    </div>,
  )
else
  zohoReady(5000).then(
    async (page) => (await app).start(root, base, page),
    (error) => {
      if (error instanceof NotInCrmError) show(<OutsideCrm />)
      else {
        console.error(error)
        show(
          <div class="state error" role="alert">
            Zoho CRM could not start the widget: {String(error?.message ?? error)}
          </div>,
        )
      }
    },
  )
