/** Content security policies, dependency-free so the Vite build can emit them for Workers Static Assets too. */

/** Zoho CRM web hosts per DC, plus zappsusercontent (a Zoho-hosted widget framing ours). */
export const ZOHO_FRAME_ANCESTORS = [
  'https://*.zoho.com',
  'https://*.zoho.eu',
  'https://*.zoho.in',
  'https://*.zoho.com.au',
  'https://*.zoho.jp',
  'https://*.zoho.com.cn',
  'https://*.zohocloud.ca',
  'https://*.zoho.sa',
  'https://*.zappsusercontent.com',
  'https://*.zappsusercontent.eu',
  'https://*.zappsusercontent.in',
  'https://*.zappsusercontent.com.au',
  'https://*.zappsusercontent.jp',
  'https://*.zappsusercontent.com.cn',
  'https://*.zappsusercontent.ca',
  'https://*.zappsusercontent.sa',
].join(' ')

/** The web view and server-rendered pages: our own scripts only, no framing. */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/**
 * widget.html when hosted externally: framed by Zoho CRM, loads the Zoho widget SDK, calls this API.
 * No X-Frame-Options (it cannot express an allow-list; frame-ancestors does).
 */
export const WIDGET_CSP = [
  "default-src 'self'",
  "script-src 'self' https://live.zwidgets.com https://*.zohostatic.com https://*.zohocdn.com",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  `frame-ancestors ${ZOHO_FRAME_ANCESTORS}`,
].join('; ')
