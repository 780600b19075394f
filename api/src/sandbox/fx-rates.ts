import { hash32, unit } from './rng'

/**
 * Currency Freaks rates for the sandbox: units of each currency per 1 USD, moving weekly. The rates
 * of a date are a pure function of the Monday of that date, so "latest" during a week equals the
 * historical rates of any day in that week. MMK is deliberately absent: deals in MMK must fall back
 * to Zoho's own Exchange_Rate.
 */
export const FX_BASE_RATES: Readonly<Record<string, number>> = {
  USD: 1,
  SGD: 1.3412,
  EUR: 0.9236,
  GBP: 0.7893,
  JPY: 151.37,
  IDR: 15862.5,
  MYR: 4.7125,
  THB: 35.84,
  PHP: 56.48,
  VND: 25405,
  INR: 83.47,
  CNY: 7.2231,
  HKD: 7.8134,
  AUD: 1.5217,
  NZD: 1.6612,
  KWD: 0.30752,
  BHD: 0.37603,
  OMR: 0.38452,
  QAR: 3.6408,
  AED: 3.6725,
  SAR: 3.7502,
  CAD: 1.3671,
  CHF: 0.8814,
  KRW: 1352.6,
  TWD: 32.117,
  SEK: 10.612,
  NOK: 10.847,
  DKK: 6.8893,
  ZAR: 18.604,
  BRL: 5.0912,
  MXN: 17.236,
  PKR: 278.45,
  BDT: 109.87,
  LKR: 300.15,
}

/** The Monday (UTC) on or before a YYYY-MM-DD date, as YYYY-MM-DD. */
export function mondayOf(date: string): string {
  const d = new Date(`${date}T00:00:00Z`)
  const dow = (d.getUTCDay() + 6) % 7 // 0 = Monday
  d.setUTCDate(d.getUTCDate() - dow)
  return d.toISOString().slice(0, 10)
}

/** Weekly rates for the week containing `date` (YYYY-MM-DD), as full-precision strings per 1 USD. */
export function fxRatesFor(date: string, seed = 42): Record<string, string> {
  const monday = mondayOf(date)
  const week = Math.round(Date.parse(`${monday}T00:00:00Z`) / (7 * 86_400_000))
  const out: Record<string, string> = {}
  for (const [code, base] of Object.entries(FX_BASE_RATES)) {
    if (code === 'USD') {
      out[code] = '1.0'
      continue
    }
    // A slow swing (period ~1 year, phase per currency) plus a small weekly wobble: within ±3%.
    const phase = (hash32(seed, code) % 360) * (Math.PI / 180)
    const swing = 0.025 * Math.sin((2 * Math.PI * week) / 52 + phase)
    const wobble = 0.005 * (unit(seed, code, week) * 2 - 1)
    out[code] = String(base * (1 + swing + wobble))
  }
  return out
}
