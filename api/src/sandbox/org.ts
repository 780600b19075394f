import { hash32 } from './rng'
import { FX_BASE_RATES } from './fx-rates'

/**
 * The sandbox org's fixed data (users, roles, profiles, pipelines, stages, currencies), a pure
 * function of the seed and the home currency. Ids are 19-digit strings like real Zoho ids.
 */

export interface SandboxUser {
  id: string
  zuid: string
  full_name: string
  email: string
  roleId: string
  profile: 'Administrator' | 'Standard'
  status: 'active' | 'inactive' | 'deleted'
}

export interface Role {
  id: string
  name: string
  reportsTo: string | null
}

export interface Stage {
  id: string
  display_value: string
  actual_value: string
  probability: number
  deal_category: 'Open' | 'Closed Won' | 'Closed Lost'
  forecast_category: 'Pipeline' | 'Best Case' | 'Commit' | 'Closed' | 'Omitted'
  sequence_number: number
}

export interface Pipeline {
  id: string
  name: string
  default: boolean
  /** Stage display values in pipeline order (open stages first, then won, then lost ones). */
  stages: string[]
}

export interface Currency {
  code: string
  name: string
  symbol: string
  decimals: number
}

export const DEAL_CURRENCIES: readonly Currency[] = [
  { code: 'SGD', name: 'Singapore Dollar', symbol: 'S$', decimals: 2 },
  { code: 'USD', name: 'US Dollar', symbol: '$', decimals: 2 },
  { code: 'EUR', name: 'Euro', symbol: '€', decimals: 2 },
  { code: 'JPY', name: 'Japanese Yen', symbol: '¥', decimals: 0 },
  { code: 'IDR', name: 'Indonesian Rupiah', symbol: 'Rp', decimals: 2 },
  { code: 'KWD', name: 'Kuwaiti Dinar', symbol: 'KD', decimals: 3 },
  { code: 'MYR', name: 'Malaysian Ringgit', symbol: 'RM', decimals: 2 },
  { code: 'MMK', name: 'Myanmar Kyat', symbol: 'K', decimals: 2 },
]

const EXTRA_CURRENCIES: readonly Currency[] = [
  { code: 'GBP', name: 'Pound Sterling', symbol: '£', decimals: 2 },
  { code: 'AUD', name: 'Australian Dollar', symbol: 'A$', decimals: 2 },
  { code: 'INR', name: 'Indian Rupee', symbol: '₹', decimals: 2 },
]

/** Zoho's org exchange rate of each currency (units per 1 USD); MMK is here though the FX provider lacks it. */
const ORG_RATES_PER_USD: Record<string, number> = { ...FX_BASE_RATES, MMK: 2099.85 }

const FC = { Pipeline: '1', 'Best Case': '2', Commit: '3', Closed: '4', Omitted: '5' } as const

export interface OrgData {
  orgId: string
  /** The short numeric org id Zoho shows as zgid and in the org's domain name. */
  zgid: string
  prefix: string
  homeCurrency: string
  timeZone: string
  offsetMinutes: number
  companyName: string
  users: { admin: SandboxUser; managers: SandboxUser[]; reps: SandboxUser[]; all: SandboxUser[] }
  /** Reporting line (user id → manager user id). */
  reportingTo: Map<string, string | null>
  roles: Role[]
  profiles: { id: string; name: 'Administrator' | 'Standard' }[]
  stages: Stage[]
  pipelines: Pipeline[]
  layoutId: string
  currencies: Currency[]
  /** Org exchange rate per currency: units of that currency per 1 home-currency unit, 9 decimals. */
  exchangeRates: Map<string, string>
  forecastCategoryId: (name: Stage['forecast_category']) => string
  territories: { id: string; name: string }[]
  accounts: { id: string; name: string }[]
  contacts: { id: string; name: string }[]
  /** Makes a 19-digit id in one of the org's id ranges. */
  id(range: number, n: number): string
}

const FIRST = [
  'Aisha',
  'Ben',
  'Chen',
  'Dewi',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Isabel',
  'Jonas',
  'Kavya',
  'Lukas',
]
const LAST = [
  'Tan',
  'Müller',
  'Wong',
  'Santoso',
  'Rossi',
  'Rahman',
  'Lim',
  'Sato',
  'García',
  'Berg',
  'Iyer',
  'Novak',
]

export function buildOrg(seed: number, homeCurrency: string): OrgData {
  const prefix = String(4_000_000 + (hash32(seed, 'org') % 5_000_000))
  const id = (range: number, n: number) => `${prefix}${String(range)}${String(n).padStart(11, '0')}`
  const orgId = id(0, 20_001)

  const roles: Role[] = [
    { id: id(0, 31_001), name: 'CEO', reportsTo: null },
    { id: id(0, 31_002), name: 'Sales Director', reportsTo: id(0, 31_001) },
    { id: id(0, 31_003), name: 'Sales Manager APAC', reportsTo: id(0, 31_002) },
    { id: id(0, 31_004), name: 'Sales Manager EMEA', reportsTo: id(0, 31_002) },
    { id: id(0, 31_005), name: 'Sales Rep APAC', reportsTo: id(0, 31_003) },
    { id: id(0, 31_006), name: 'Sales Rep EMEA', reportsTo: id(0, 31_004) },
  ]
  const profiles = [
    { id: id(0, 32_001), name: 'Administrator' as const },
    { id: id(0, 32_002), name: 'Standard' as const },
  ]

  let k = 0
  const person = (roleIdx: number, profile: SandboxUser['profile'], status: SandboxUser['status']) => {
    const first = FIRST[(hash32(seed, 'first', k) + k) % FIRST.length]!
    const last = LAST[(hash32(seed, 'last', k) + 3 * k) % LAST.length]!
    const ascii = `${first}.${last}${k}@sandbox.example.com`
      .toLowerCase()
      .normalize('NFD')
      .replace(/[^\x20-\x7e]/g, '')
    const user: SandboxUser = {
      id: id(0, 411_001 + k * 1000),
      zuid: String(60_000_000 + (hash32(seed, 'zuid', k) % 900_000_000)),
      full_name: `${first} ${last}`,
      // Copied into a one-byte string: V8 keeps normalize()'s two-byte form, and one two-byte
      // string makes a whole Deals page two-byte, several times slower to encode and send.
      email: Buffer.from(ascii, 'latin1').toString('latin1'),
      roleId: roles[roleIdx]!.id,
      profile,
      status,
    }
    k++
    return user
  }
  const admin = person(0, 'Administrator', 'active')
  const director = person(1, 'Standard', 'active')
  const apac = person(2, 'Standard', 'active')
  const emea = person(3, 'Standard', 'active')
  const reps: SandboxUser[] = []
  for (let r = 0; r < 8; r++) reps.push(person(r % 2 === 0 ? 4 : 5, 'Standard', 'active'))
  reps.push(person(4, 'Standard', 'inactive'), person(5, 'Standard', 'deleted'))
  const managers = [director, apac, emea]
  const all = [admin, ...managers, ...reps]
  const reportingTo = new Map<string, string | null>([
    [admin.id, null],
    [director.id, admin.id],
    [apac.id, director.id],
    [emea.id, director.id],
    ...reps.map((u) => [u.id, u.roleId === roles[4]!.id ? apac.id : emea.id] as [string, string]),
  ])

  // Stage picklist. Two values deliberately have an actual_value that differs from the display value.
  const stageDefs: [string, string, number, Stage['deal_category'], Stage['forecast_category']][] = [
    ['Qualification', 'Qualification', 10, 'Open', 'Pipeline'],
    ['Needs Analysis', 'Needs Analysis', 20, 'Open', 'Pipeline'],
    ['Value Proposition', 'Value Proposition', 40, 'Open', 'Pipeline'],
    ['Identify Decision Makers', 'Id. Decision Makers', 60, 'Open', 'Best Case'],
    ['Proposal/Price Quote', 'Proposal/Price Quote', 75, 'Open', 'Best Case'],
    ['Negotiation/Review', 'Negotiation/Review', 90, 'Open', 'Commit'],
    ['Closed Won', 'Closed Won', 100, 'Closed Won', 'Closed'],
    ['Closed Lost', 'Closed Lost', 0, 'Closed Lost', 'Omitted'],
    ['Closed Lost to Competition', 'Closed-Lost to Competition', 0, 'Closed Lost', 'Omitted'],
  ]
  const stages: Stage[] = stageDefs.map(([d, a, p, cat, fc], i) => ({
    id: id(0, 33_001 + i),
    display_value: d,
    actual_value: a,
    probability: p,
    deal_category: cat,
    forecast_category: fc,
    sequence_number: i + 1,
  }))
  const pipelines: Pipeline[] = [
    {
      id: id(0, 34_001),
      name: 'Standard',
      default: true,
      stages: stageDefs.map((s) => s[0]),
    },
    {
      id: id(0, 34_002),
      name: 'Enterprise',
      default: false,
      stages: [
        'Qualification',
        'Identify Decision Makers',
        'Proposal/Price Quote',
        'Negotiation/Review',
        'Closed Won',
        'Closed Lost',
      ],
    },
  ]

  const currencies: Currency[] = [...DEAL_CURRENCIES]
  for (const c of EXTRA_CURRENCIES) currencies.push(c)
  if (!currencies.some((c) => c.code === homeCurrency))
    currencies.push({ code: homeCurrency, name: homeCurrency, symbol: homeCurrency, decimals: 2 })
  const home = ORG_RATES_PER_USD[homeCurrency] ?? 1
  const exchangeRates = new Map(
    currencies.map((c) => [
      c.code,
      c.code === homeCurrency ? '1.000000000' : ((ORG_RATES_PER_USD[c.code] ?? 1) / home).toFixed(9),
    ]),
  )

  const territories = [
    { id: id(0, 35_001), name: 'APAC' },
    { id: id(0, 35_002), name: 'EMEA' },
  ]
  const companies = [
    'Acme',
    'Globex',
    'Initech',
    'Umbrella',
    'Stark',
    'Wayne',
    'Tyrell',
    'Cyberdyne',
    'Soylent',
  ]
  const kinds = ['Holdings', 'Pte Ltd', 'GmbH', 'Sdn Bhd', 'KK', 'PT', 'Ltd', 'Group']
  const accounts: { id: string; name: string }[] = []
  for (let a = 0; a < companies.length * kinds.length; a++)
    accounts.push({
      id: id(1, 100_000 + a),
      name: `${companies[a % companies.length]} ${kinds[Math.floor(a / companies.length)]}`,
    })
  const contacts = Array.from({ length: 40 }, (_, c) => ({
    id: id(1, 200_000 + c),
    name: `${FIRST[c % FIRST.length]} ${LAST[(c * 5 + 1) % LAST.length]}`,
  }))

  return {
    orgId,
    zgid: String(700_000_000 + (hash32(seed, 'zgid') % 100_000_000)),
    prefix,
    homeCurrency,
    timeZone: 'Asia/Singapore',
    offsetMinutes: 480,
    companyName: 'Pulse Sandbox Trading Pte Ltd',
    users: { admin, managers, reps, all },
    reportingTo,
    roles,
    profiles,
    stages,
    pipelines,
    layoutId: id(0, 36_001),
    currencies,
    exchangeRates,
    forecastCategoryId: (name) => id(0, 37_000 + Number(FC[name])),
    territories,
    accounts,
    contacts,
    id,
  }
}

/** Formats an epoch-seconds time as Zoho does: ISO 8601 in the org's offset, no milliseconds. */
export function zohoTime(epochSeconds: number, offsetMinutes: number): string {
  const t = epochSeconds + offsetMinutes * 60
  if (!isPlain(t)) return `${new Date(t * 1000).toISOString().slice(0, 19)}${offsetText(offsetMinutes)}`
  const s = t % 86_400
  return `${localDate(t)}${HOURS[Math.floor(s / 3600)]}${MINUTES_SECONDS[s % 3600]}${offsetText(offsetMinutes)}`
}

/** The date part of zohoTime (YYYY-MM-DD). */
export function zohoDate(epochSeconds: number, offsetMinutes: number): string {
  const t = epochSeconds + offsetMinutes * 60
  return isPlain(t) ? localDate(t) : zohoTime(epochSeconds, offsetMinutes).slice(0, 10)
}

// Every deal served formats several times, all whole seconds in 1970-9999: those are put together
// from cached parts (a date per day, "THH:" and "MM:SS" tables), many times cheaper than Date.
// Any other time goes through Date, which defines the format.
const isPlain = (t: number) => Number.isInteger(t) && t >= 0 && t < 253_402_300_800
const two = (n: number) => String(n).padStart(2, '0')
const HOURS = Array.from({ length: 24 }, (_, h) => `T${two(h)}:`)
const MINUTES_SECONDS = Array.from({ length: 3600 }, (_, s) => `${two(Math.floor(s / 60))}:${two(s % 60)}`)
const dates = new Map<number, string>()
let offset = { minutes: NaN, text: '' }

function localDate(t: number): string {
  const day = Math.floor(t / 86_400)
  let date = dates.get(day)
  if (date === undefined) {
    if (dates.size >= 10_000) dates.clear()
    date = new Date(day * 86_400_000).toISOString().slice(0, 10)
    dates.set(day, date)
  }
  return date
}

function offsetText(offsetMinutes: number): string {
  if (offset.minutes !== offsetMinutes) {
    const sign = offsetMinutes >= 0 ? '+' : '-'
    const abs = Math.abs(offsetMinutes)
    offset = { minutes: offsetMinutes, text: `${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}` }
  }
  return offset.text
}

export function stageByValue(org: OrgData, value: string): Stage | undefined {
  return org.stages.find((s) => s.display_value === value || s.actual_value === value)
}
