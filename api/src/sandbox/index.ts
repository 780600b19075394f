import { randomBytes } from 'node:crypto'
import { Hono } from 'hono'
import { accountsApp } from './accounts'
import { callLog, type SandboxCall } from './calls'
import { controlApp } from './control'
import { crmApp } from './crm'
import { Faults, type FaultConfig } from './faults'
import { fxApp, type FxState } from './fx'
import { listen, type Listener, type SandboxEnv } from './http'
import { buildOrg, type OrgData, type SandboxUser, type Stage } from './org'
import { hash32 } from './rng'
import { DealStore } from './store'
import { DEFAULT_SCOPES, TokenStore } from './tokens'
import { Watch } from './watch'

/**
 * The built-in sandbox: a Zoho Accounts server, a Zoho CRM v8 server and a Currency Freaks server,
 * each on its own loopback port, behaving as reference/zoho-crm-api.md describes the real ones.
 * Used by the demo mode of the Node entry, the tests and the bench; no production module imports it.
 */

export type { FaultConfig } from './faults'
export type { SandboxUser } from './org'
export type { SandboxCall } from './calls'
export { fxRatesFor, mondayOf, FX_BASE_RATES } from './fx-rates'

export interface SandboxOptions {
  /** Seed of the generated org and deals (42). */
  seed?: number
  /** Number of generated deals (2000); up to millions, generated on demand. */
  deals?: number
  /** The org's home currency (USD). */
  homeCurrency?: string
  /** Port of the CRM server (0 = any free port). The Accounts and FX servers take free ports. */
  port?: number
  /** 'free' refuses historical FX rates with 403. */
  fxPlan?: 'paid' | 'free'
  /** FX requests allowed before 429 (unlimited). */
  fxQuota?: number
  /** CRM credits per day (100,000); 429 when spent, X-API-CREDITS-REMAINING past half. */
  dailyCredits?: number
  faults?: FaultConfig
  /** Day (YYYY-MM-DD, UTC) the generated history ends at (today). Fix it for data stable across days. */
  anchorDate?: string
  /** Lifetime of a Deals page_token (24 h). */
  pageTokenTtlMs?: number
  /** Records reachable through page_token (100,000, as in Zoho); lower it to test the limit cheaply. */
  pageTokenRecordLimit?: number
  /**
   * What a Deals page_token remembers. Zoho does not document it: 'cursor' (the default) resumes
   * after the last record served, so edits and deletions behind it shift nothing; 'offset' resumes
   * at the number of records served, as `page` does, so a deal edited (moved to the end of a
   * Modified_Time order) or deleted behind the token makes the next page skip one record.
   */
  pageTokenPosition?: 'cursor' | 'offset'
  /**
   * Stage_History fields this org's list lacks (none). Zoho documents none of the list's field
   * names; asking for one the list lacks answers 400 INVALID_DATA with `details.api_name` naming
   * it, as Zoho reports an invalid field, or, with `stageHistoryRefusalNamesField: false`, naming
   * only the `fields` parameter.
   */
  stageHistoryLacks?: string[]
  stageHistoryRefusalNamesField?: boolean
  /**
   * Every Stage_History call answers 400 INVALID_DATA naming the `id` parameter, as for a deleted
   * deal, though the deals exist: a list hidden in the org might (Zoho documents INVALID_DATA for a
   * hidden list, not its details). Default false.
   */
  stageHistoryRefusesIds?: boolean
}

export interface Sandbox {
  /** Base URL of the CRM server, which also serves the /__sandbox control API. */
  url: string
  /** Token URL = accountsUrl + '/oauth/v2/token'. */
  accountsUrl: string
  /** CRM = apiDomain + '/crm/v8/...'. */
  apiDomain: string
  /** CURRENCY_API_URL (ends in /v2.0). */
  fxUrl: string
  clientId: string
  clientSecret: string
  fxApiKey: string
  orgId: string
  users: { admin: SandboxUser; managers: SandboxUser[]; reps: SandboxUser[]; all: SandboxUser[] }
  issueRefreshToken(userId?: string, scopes?: string[]): string
  setFaults(f: FaultConfig): void
  calls: SandboxCall[]
  resetCalls(): void
  editDeal(id: string, changes: Record<string, unknown>): void
  /**
   * Deletes a deal (to the recycle bin unless `type` is 'permanent'; another type is listed as
   * given, kept as long as a permanent deletion).
   */
  deleteDeal(id: string, type?: string): void
  createDeal(fields?: Record<string, unknown>): string
  mutateRandom(
    n: { edits?: number; deletes?: number; creates?: number },
    seed?: number,
  ): { edited: string[]; deleted: string[]; created: string[] }
  /** Every live deal as Zoho would return it with all fields, streamed (for checksums in tests). */
  deals(): Iterable<Record<string, unknown>>
  /** Expires every access token now (the next CRM call answers INVALID_TOKEN). */
  expireAccessTokens(): void
  /** Expires every page_token issued so far (EXPIRED_VALUE). */
  expirePageTokens(): void
  /**
   * Moves Zoho's clock forward (this sandbox's only): access and page tokens age, and deletions
   * leave the deleted list after Zoho's retention (60 days in the recycle bin, 120 permanent).
   */
  advanceClock(ms: number): void
  /** Watch callbacks sent so far; `settleNotifications()` waits for those in flight. */
  notifications: {
    channel_id: string
    url: string
    body: Record<string, unknown>
    status: number | 'error'
  }[]
  settleNotifications(): Promise<void>
  /** Credits spent by CRM calls so far. */
  creditsUsed(): number
  /** Sets the credits left in the 24-hour window: 0 spends them all, dailyCredits gives all back. */
  setCreditsLeft(n: number): void
  /** From now on every Stage_History call is refused, or answered again (stageHistoryRefusesIds). */
  refuseStageHistory(refuse: boolean): void
  /**
   * Changes a Stage picklist value's metadata (matched on display or actual value) as the CRM serves
   * it (fields and pipelines), as an admin editing the picklist would. As in Zoho, deals keep their
   * own Probability and Modified_Time.
   */
  setStage(
    value: string,
    changes: Partial<Pick<Stage, 'probability' | 'deal_category' | 'forecast_category'>>,
  ): void
  /** Removes a value from the Stage picklist (fields and pipelines); deals in it keep it as their Stage. */
  removeStage(value: string): void
  close(): Promise<void>
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const seed = opts.seed ?? 42
  const homeCurrency = opts.homeCurrency ?? 'USD'
  const org = buildOrg(seed, homeCurrency)
  const anchorDay = opts.anchorDate ?? new Date().toISOString().slice(0, 10)
  const anchor = Date.parse(`${anchorDay}T00:00:00Z`) / 1000
  if (Number.isNaN(anchor)) throw new Error(`invalid anchorDate ${anchorDay}`)
  let clockSkew = 0
  const now = () => Date.now() + clockSkew
  const store = new DealStore({ seed, n: opts.deals ?? 2000, anchor, org }, now)
  const tokens = new TokenStore(now)
  const faults = new Faults()
  faults.set(opts.faults ?? {})
  const clientId = `1000.${hash32(seed, 'client').toString(36).toUpperCase()}SANDBOX`
  const clientSecret = randomBytes(20).toString('hex')
  const fx: FxState = {
    apiKey: randomBytes(16).toString('hex'),
    plan: opts.fxPlan ?? 'paid',
    quota: opts.fxQuota ?? Number.POSITIVE_INFINITY,
    used: 0,
    seed,
    now: () => new Date(),
    faults,
  }
  // The picklist as served: setStage edits these copies, so deals generated from org.stages keep theirs.
  const picklist: Stage[] = org.stages.map((st) => ({ ...st }))
  const served: OrgData = { ...org, stages: picklist }
  const credits = { used: 0 }
  const dailyCredits = opts.dailyCredits ?? 100_000
  const pageTokens = {
    ttlMs: opts.pageTokenTtlMs ?? 86_400_000,
    notBefore: 0,
    recordLimit: opts.pageTokenRecordLimit ?? 100_000,
    offset: opts.pageTokenPosition === 'offset',
  }
  let calls: SandboxCall[] = []
  const urls = { accounts: '', api: '', fx: '' }
  const watch = new Watch(now, () => `${urls.api}/crm/v2/Deals`)
  const isAdmin = (userId: string) => org.users.all.find((u) => u.id === userId)?.profile === 'Administrator'
  store.listeners.push((m) =>
    watch.notify(m, (userId, dealId) => {
      if (isAdmin(userId)) return true
      return (store.getById(dealId)?.Owner as { id?: string } | undefined)?.id === userId
    }),
  )

  const accounts = new Hono<SandboxEnv>()
  accounts.use(
    '*',
    callLog(
      () => calls,
      () => 'accounts',
    ),
  )
  accounts.route(
    '/',
    accountsApp({
      clientId,
      clientSecret,
      tokens,
      users: org.users.all,
      admin: org.users.admin,
      accountsUrl: () => urls.accounts,
      apiDomain: () => urls.api,
      faults,
    }),
  )

  // Read by the CRM app on every Stage_History call: refuseStageHistory changes it in flight.
  const stageHistory = {
    lacks: opts.stageHistoryLacks ?? [],
    namesField: opts.stageHistoryRefusalNamesField ?? true,
    refusesIds: opts.stageHistoryRefusesIds ?? false,
  }
  const sandbox: Sandbox = {
    url: '',
    accountsUrl: '',
    apiDomain: '',
    fxUrl: '',
    clientId,
    clientSecret,
    fxApiKey: fx.apiKey,
    orgId: org.orgId,
    users: org.users,
    issueRefreshToken(userId = org.users.admin.id, scopes = DEFAULT_SCOPES) {
      const u = org.users.all.find((x) => x.id === userId)
      if (!u) throw new Error(`unknown user ${userId}`)
      return tokens.issueRefresh(u.id, clientId, [...scopes])
    },
    setFaults: (f) => faults.set(f),
    get calls() {
      return calls
    },
    resetCalls() {
      calls = []
    },
    editDeal: (id, changes) => store.edit(id, changes),
    deleteDeal: (id, type) => store.delete(id, type),
    createDeal: (fields) => store.create(fields),
    mutateRandom: (n, s) => store.mutateRandom(n, s),
    deals: () => store.all(),
    expireAccessTokens: () => tokens.expireAll(),
    expirePageTokens() {
      pageTokens.notBefore = now() + 1
    },
    advanceClock(ms) {
      clockSkew += ms
    },
    get notifications() {
      return watch.deliveries
    },
    settleNotifications: () => watch.settle(),
    creditsUsed: () => credits.used,
    setCreditsLeft: (n) => {
      credits.used = Math.max(0, dailyCredits - n)
    },
    refuseStageHistory: (refuse) => {
      stageHistory.refusesIds = refuse
    },
    setStage(value, changes) {
      const st = picklist.find((x) => x.display_value === value || x.actual_value === value)
      if (!st) throw new Error(`unknown stage ${value}`)
      Object.assign(st, changes)
    },
    removeStage(value) {
      const i = picklist.findIndex((x) => x.display_value === value || x.actual_value === value)
      if (i < 0) throw new Error(`unknown stage ${value}`)
      picklist.splice(i, 1)
    },
    close: async () => {
      await watch.settle()
      await Promise.all(listeners.map((l) => l.close()))
    },
  }

  const api = new Hono<SandboxEnv>()
  api.use(
    '*',
    callLog(
      () => calls,
      (p) => (p.startsWith('/__sandbox') ? 'sandbox' : 'crm'),
    ),
  )
  api.route(
    '/',
    controlApp({
      info: () => info(sandbox),
      issueRefreshToken: (u, s) => sandbox.issueRefreshToken(u, s),
      setFaults: (f) => faults.set(f),
      get calls() {
        return calls
      },
      resetCalls: () => sandbox.resetCalls(),
      editDeal: (id, ch) => store.edit(id, ch),
      deleteDeal: (id, type) => store.delete(id, type),
      createDeal: (f) => store.create(f),
      mutateRandom: (n, s) => store.mutateRandom(n, s),
      expireAccessTokens: () => tokens.expireAll(),
      expirePageTokens: () => sandbox.expirePageTokens(),
      setCreditsLeft: (n) => sandbox.setCreditsLeft(n),
      refuseStageHistory: (r) => sandbox.refuseStageHistory(r),
      removeStage: (v) => sandbox.removeStage(v),
    }),
  )
  api.route(
    '/',
    crmApp({
      org: served,
      store,
      tokens,
      faults,
      watch,
      apiDomain: () => urls.api,
      now,
      dailyCredits,
      credits,
      pageTokens,
      stageHistory,
    }),
  )

  const fxServer = new Hono<SandboxEnv>()
  fxServer.use(
    '*',
    callLog(
      () => calls,
      () => 'fx',
    ),
  )
  fxServer.route('/', fxApp(fx))

  const listeners: Listener[] = []
  try {
    listeners.push(await listen(api, opts.port ?? 0), await listen(accounts), await listen(fxServer))
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()))
    throw e
  }
  urls.api = listeners[0]!.url
  urls.accounts = listeners[1]!.url
  urls.fx = listeners[2]!.url
  sandbox.url = urls.api
  sandbox.apiDomain = urls.api
  sandbox.accountsUrl = urls.accounts
  sandbox.fxUrl = `${urls.fx}/v2.0`
  return sandbox
}

/** Environment variables that point the product at a running sandbox (as a Zoho Self Client). */
export function sandboxEnv(s: Sandbox, refreshToken = s.issueRefreshToken()): Record<string, string> {
  return {
    ZOHO_CLIENT_ID: s.clientId,
    ZOHO_CLIENT_SECRET: s.clientSecret,
    ZOHO_ACCOUNTS_URL: s.accountsUrl,
    ZOHO_API_DOMAIN: s.apiDomain,
    ZOHO_REFRESH_TOKEN: refreshToken,
    CURRENCY_API_URL: s.fxUrl,
    CURRENCY_API_KEY: s.fxApiKey,
  }
}

/** The connection details of a running sandbox, as the CLI prints them. */
export function info(s: Sandbox): Record<string, unknown> {
  return {
    url: s.url,
    accountsUrl: s.accountsUrl,
    apiDomain: s.apiDomain,
    fxUrl: s.fxUrl,
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    fxApiKey: s.fxApiKey,
    orgId: s.orgId,
    adminUserId: s.users.admin.id,
  }
}
