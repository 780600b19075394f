import { randomBytes } from 'node:crypto'

/** OAuth state of the sandbox Accounts server: grant codes, refresh tokens and access tokens. */

export const DEFAULT_SCOPES = [
  'ZohoCRM.modules.ALL',
  'ZohoCRM.settings.ALL',
  'ZohoCRM.users.READ',
  'ZohoCRM.org.READ',
  'ZohoCRM.notifications.ALL',
  'ZohoCRM.coql.READ',
  'ZohoCRM.bulk.READ',
]

export interface RefreshToken {
  token: string
  userId: string
  clientId: string
  scopes: string[]
  issuedAt: number
  /** Times (ms) of access tokens minted from it, for the 10-per-10-minutes limit. */
  mints: number[]
}

export interface AccessToken {
  token: string
  refreshToken: string | null
  userId: string
  scopes: string[]
  expiresAt: number
  /** CRM calls made with it (for the expire-after-N-calls fault). */
  uses: number
}

export interface GrantCode {
  code: string
  clientId: string
  redirectUri: string
  userId: string
  scopes: string[]
  offline: boolean
  expiresAt: number
}

const REFRESH_TOKENS_PER_USER = 20
const MINTS_PER_WINDOW = 10
const MINT_WINDOW_MS = 10 * 60_000
export const ACCESS_TOKEN_TTL_S = 3600

function secret(): string {
  return `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`
}

export class TokenStore {
  codes = new Map<string, GrantCode>()
  refresh = new Map<string, RefreshToken>()
  access = new Map<string, AccessToken>()

  constructor(private now: () => number) {}

  issueCode(g: Omit<GrantCode, 'code' | 'expiresAt'>): string {
    const code = `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`
    this.codes.set(code, { ...g, code, expiresAt: this.now() + 120_000 })
    return code
  }

  /** Single use: a code is gone once tried. */
  takeCode(code: string): GrantCode | undefined {
    const g = this.codes.get(code)
    this.codes.delete(code)
    return g && g.expiresAt > this.now() ? g : undefined
  }

  issueRefresh(userId: string, clientId: string, scopes: string[]): string {
    // A user holds at most 20 refresh tokens: the 21st silently evicts the oldest.
    const mine = [...this.refresh.values()]
      .filter((r) => r.userId === userId)
      .sort((a, b) => a.issuedAt - b.issuedAt)
    while (mine.length >= REFRESH_TOKENS_PER_USER) this.revoke(mine.shift()!.token)
    const token = secret()
    this.refresh.set(token, { token, userId, clientId, scopes, issuedAt: this.now(), mints: [] })
    return token
  }

  /** Mints an access token; 'throttled' past 10 per refresh token in 10 minutes. */
  mint(refreshToken: string | null, userId: string, scopes: string[]): AccessToken | 'throttled' {
    if (refreshToken) {
      const r = this.refresh.get(refreshToken)!
      const now = this.now()
      r.mints = r.mints.filter((t) => t > now - MINT_WINDOW_MS)
      if (r.mints.length >= MINTS_PER_WINDOW) return 'throttled'
      r.mints.push(now)
    }
    const a: AccessToken = {
      token: secret(),
      refreshToken,
      userId,
      scopes,
      expiresAt: this.now() + ACCESS_TOKEN_TTL_S * 1000,
      uses: 0,
    }
    this.access.set(a.token, a)
    return a
  }

  /** Revokes a refresh token (and every access token minted from it) or a single access token. */
  revoke(token: string): boolean {
    if (this.refresh.delete(token)) {
      for (const [k, a] of this.access) if (a.refreshToken === token) this.access.delete(k)
      return true
    }
    return this.access.delete(token)
  }

  /** The live access token, or undefined when unknown, expired or revoked. */
  lookup(token: string): AccessToken | undefined {
    const a = this.access.get(token)
    if (!a) return undefined
    if (a.expiresAt <= this.now()) {
      this.access.delete(token)
      return undefined
    }
    return a
  }

  /** Expires every access token now (as if an hour had passed). */
  expireAll(): void {
    this.access.clear()
  }
}

/** True when one of the granted scopes covers `needed` (e.g. ZohoCRM.modules.deals.READ). */
export function scopeCovers(granted: string[], needed: string): boolean {
  const [svc, group, ...rest] = needed.toLowerCase().split('.')
  const op = rest.pop()!
  const sub = rest.join('.')
  const ok = new Set<string>()
  const base = `${svc}.${group}`
  ok.add(needed.toLowerCase())
  ok.add(`${base}.all`)
  ok.add(`${base}.${op}`)
  if (sub) ok.add(`${base}.${sub}.all`)
  return granted.some((g) => ok.has(g.toLowerCase()))
}
