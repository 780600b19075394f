import type { BrowserContext, FrameLocator, Page } from 'playwright-core'

/**
 * Stand-ins for the edge of the world the widget talks to inside Zoho CRM:
 * - the SDK script at https://live.zwidgets.com/js-sdk/<version>/ZohoEmbededAppSDK.min.js (the
 *   widget loads 1.4, SDK_URL), speaking a small postMessage protocol to its parent, with 1.2's
 *   lifecycle (kept for 1.4, whose docs say nothing different): listeners registered with on() are
 *   attached when init() runs (a later on() is ignored), init() never settles without a parent;
 *   any other path on that host is a 404, as on the CDN;
 * - a CRM page at https://crm.zoho.com that frames the widget, answers the handshake, sends PageLoad,
 *   answers getCurrentUser, and runs the Deluge function pipelinepulse_widget_assertion: HMAC-SHA256
 *   (hex) over {zuid, orgId, iat, nonce} with the widget secret, as deluge/ does. As in Zoho, the
 *   function runs as the current user only when the widget loaded SDK 1.4 or later; under an older
 *   SDK it runs as the org admin (`admin`), so a widget on 1.2 signs every user in as the admin.
 */

export const SDK_VERSION = '1.4'
export const SDK_URL = `https://live.zwidgets.com/js-sdk/${SDK_VERSION}/ZohoEmbededAppSDK.min.js`
const SDK_PATH = /^\/js-sdk\/(\d+(?:\.\d+)*)\/ZohoEmbededAppSDK\.min\.js$/

/** True when SDK `version` runs FUNCTIONS.execute as the current user (1.4 and later). */
export function runsFunctionsAsCurrentUser(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  return major > 1 || (major === 1 && minor >= 4)
}
export const CRM_ORIGIN = 'https://crm.zoho.com'
/**
 * The widget is hosted externally over HTTPS, as Zoho requires: this origin is proxied to the local
 * server. (A public https page may not frame http://127.0.0.1: Chromium's local-network checks.)
 */
export const WIDGET_ORIGIN = 'https://pulse.example.test'

const sdkSource = (version: string) => `
window.ZOHO = (function () {
  var version = ${JSON.stringify(version)};
  var serviceOrigin = new URLSearchParams(location.search).get('serviceOrigin');
  var registered = {}, attached = {}, pending = {}, seq = 0, initPromise = null, ready = null;
  window.addEventListener('message', function (e) {
    if (e.source !== window.parent || e.origin !== serviceOrigin) return;
    var m = e.data || {};
    if (m.type === 'SET_CONTEXT' && ready) ready();
    else if (m.type === 'EVENT' && attached[m.name]) attached[m.name](m.data);
    else if (m.type === 'RESPONSE' && pending[m.id]) { var p = pending[m.id]; delete pending[m.id]; m.error ? p.reject(m.error) : p.resolve(m.result); }
  });
  function call(method, args) {
    if (!initPromise) throw new TypeError("Cannot read properties of undefined (reading 'appSDK')");
    return new Promise(function (resolve, reject) {
      var id = ++seq; pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ type: 'CALL', id: id, method: method, args: args }, serviceOrigin);
    });
  }
  return {
    embeddedApp: {
      on: function (name, fn) { registered[name] = fn; },
      init: function () {
        if (initPromise) return initPromise;
        for (var k in registered) attached[k] = registered[k];
        initPromise = new Promise(function (resolve) {
          ready = resolve;
          if (window.parent === window || !serviceOrigin) return; // outside CRM: never settles
          window.parent.postMessage({ type: 'REGISTER', version: version }, serviceOrigin);
        });
        return initPromise;
      }
    },
    CRM: {
      CONFIG: { getCurrentUser: function () { return call('getCurrentUser'); } },
      FUNCTIONS: { execute: function (name, req) { return call('execute', { name: name, req: req }); } }
    }
  };
})();
`

/** A CRM user as the stand-in's SDK answers getCurrentUser. */
export type CrmUser = { id: string; zuid: string; full_name: string; email: string }

/** Just the fields getCurrentUser gives, of a sandbox org's user. */
export const crmUser = (u: CrmUser): CrmUser => ({
  id: u.id,
  zuid: u.zuid,
  full_name: u.full_name,
  email: u.email,
})

export interface CrmPageOptions {
  secret: string
  orgId: string
  user: CrmUser
  /** PageLoad payload, e.g. {Entity: 'Deals', EntityId: ['123']}; null sends none (a web tab). */
  pageLoad: Record<string, unknown> | null
  /**
   * The org's admin: whom a function runs as when the widget loaded an SDK older than 1.4. Without
   * it such a call answers a failure (the stand-in does not know who the admin is).
   */
  admin?: { zuid: string }
}

function crmPage(o: CrmPageOptions): string {
  const src = `${WIDGET_ORIGIN}/widget.html?serviceOrigin=${encodeURIComponent(CRM_ORIGIN)}`
  return `<!doctype html><html><head><title>Zoho CRM (stand-in)</title>
<style>body{margin:0;font-family:sans-serif}header{background:#1a73e8;color:#fff;padding:8px}iframe{border:0;width:100%;height:900px}</style>
</head><body><header>Zoho CRM stand-in</header><iframe id="w" title="Pipeline Pulse" src="${src}"></iframe>
<script>
const CFG = ${JSON.stringify({ secret: o.secret, orgId: o.orgId, user: o.user, pageLoad: o.pageLoad, admin: o.admin ?? null })};
const frame = document.getElementById('w');
const widgetOrigin = new URL(frame.src).origin;
window.calls = [];
// The SDK version the widget loaded (sent with REGISTER), and whom functions run as under it
// (runsFunctionsAsCurrentUser, restated in the page's own JS).
window.sdkVersion = null;
const asCurrentUser = (v) => { const [major, minor] = String(v).split('.').map(Number); return major > 1 || (major === 1 && minor >= 4); };
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
async function assertion(zuid) {
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const payload = JSON.stringify({ zuid, orgId: CFG.orgId, iat: Math.floor(Date.now() / 1000), nonce });
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(CFG.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = hex(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload)));
  return JSON.stringify({ payload, sig });
}
window.addEventListener('message', async (e) => {
  if (e.source !== frame.contentWindow || e.origin !== widgetOrigin) return;
  const m = e.data || {};
  const post = (msg) => frame.contentWindow.postMessage(msg, widgetOrigin);
  if (m.type === 'REGISTER') {
    window.sdkVersion = String(m.version);
    post({ type: 'SET_CONTEXT' });
    if (CFG.pageLoad) post({ type: 'EVENT', name: 'PageLoad', data: CFG.pageLoad });
    return;
  }
  if (m.type !== 'CALL') return;
  window.calls.push(m.method);
  if (m.method === 'getCurrentUser') {
    const u = CFG.user;
    post({ type: 'RESPONSE', id: m.id, result: { users: [{ id: u.id, zuid: u.zuid, full_name: u.full_name, email: u.email, role: { id: '1', name: 'Sales Rep' }, profile: { id: '2', name: 'Standard' } }] } });
  } else if (m.method === 'execute') {
    const args = JSON.parse(m.args.req.arguments);
    if (m.args.name !== 'pipelinepulse_widget_assertion' || typeof args !== 'object')
      return post({ type: 'RESPONSE', id: m.id, result: { code: 'failure', message: 'no such function' } });
    // Before SDK 1.4 Zoho runs the function as the org admin, whoever is signed in.
    const zuid = asCurrentUser(window.sdkVersion) ? CFG.user.zuid : CFG.admin && CFG.admin.zuid;
    if (!zuid)
      return post({ type: 'RESPONSE', id: m.id, result: { code: 'failure', message: 'SDK ' + window.sdkVersion + ' runs functions as the org admin' } });
    post({ type: 'RESPONSE', id: m.id, result: { code: 'success', details: { output: await assertion(zuid), type: 'string', id: '1' }, message: 'function executed successfully' } });
  }
});
</script></body></html>`
}

/** Routes the SDK URL, the widget's host and the CRM page in this browser context. */
export async function installCrmStandIn(
  context: BrowserContext,
  serverUrl: string,
  o: CrmPageOptions | null,
): Promise<string> {
  // Any SDK version the widget asks for, behaving as that version does (see above); else a 404.
  await context.route('https://live.zwidgets.com/**', (route) => {
    const version = SDK_PATH.exec(new URL(route.request().url()).pathname)?.[1]
    return version
      ? route.fulfill({ status: 200, contentType: 'application/javascript', body: sdkSource(version) })
      : route.fulfill({ status: 404, contentType: 'text/plain', body: 'Not Found' })
  })
  await context.route(`${WIDGET_ORIGIN}/**`, async (route) => {
    const u = new URL(route.request().url())
    const response = await route.fetch({ url: `${serverUrl}${u.pathname}${u.search}` })
    await route.fulfill({ response })
  })
  if (o)
    await context.route(`${CRM_ORIGIN}/**`, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: crmPage(o) }),
    )
  return `${CRM_ORIGIN}/crm/org${o?.orgId ?? ''}/tab/Potentials`
}

/** A Deal's page in the CRM stand-in, its widget (frame `w`) loaded and signed in as `o.user`. */
export async function openDealInCrm(
  context: BrowserContext,
  serverUrl: string,
  o: Omit<CrmPageOptions, 'pageLoad'> & { dealId: string },
): Promise<{ page: Page; w: FrameLocator }> {
  const { dealId, ...rest } = o
  const crmUrl = await installCrmStandIn(context, serverUrl, {
    ...rest,
    pageLoad: { Entity: 'Deals', EntityId: [dealId], ButtonPosition: 'DetailView' },
  })
  const page = await context.newPage()
  await page.goto(crmUrl)
  const w = page.frameLocator('#w')
  await w.getByTestId('deal-view').waitFor({ timeout: 60_000 })
  return { page, w }
}
