import { sequence } from './rng'

export interface FaultConfig {
  /** Probability (0..1) that a CRM call answers 429 TOO_MANY_REQUESTS. */
  rate429?: number
  /** Probability (0..1) that a CRM call answers 500 INTERNAL_ERROR. */
  rate5xx?: number
  /** Each access token turns INVALID_TOKEN after this many CRM calls. */
  expireTokenEveryCalls?: number
  /** Added delay per CRM call, in ms. */
  latencyMs?: number
  /** Every Nth CRM call sends part of its JSON body and then drops the connection. */
  dropConnectionEvery?: number
  /** Seed of the fault draws (same seed, same sequence of faults). */
  seed?: number
  /**
   * Which servers the faults hit (['crm']); 'accounts' is the token endpoint (a 429 or 5xx there
   * answers 503 with an HTML page, as a gateway would). Token expiry always concerns CRM calls.
   */
  services?: ('crm' | 'fx' | 'accounts')[]
}

export type FaultDecision = 'none' | '429' | '5xx' | 'drop'

/** Deterministic fault injection: decisions come from a seeded sequence, one draw per CRM call. */
export class Faults {
  config: FaultConfig = {}
  private draw: () => number = sequence(0)
  private calls = 0

  set(f: FaultConfig): void {
    this.config = { ...f }
    this.draw = sequence(f.seed ?? 0)
    this.calls = 0
  }

  applies(service: 'crm' | 'fx' | 'accounts'): boolean {
    return (this.config.services ?? ['crm']).includes(service)
  }

  /** Decides the fate of the next call to a faulty server. */
  next(): FaultDecision {
    const f = this.config
    this.calls++
    const r = this.draw()
    if (f.rate429 && r < f.rate429) return '429'
    if (f.rate5xx && r >= (f.rate429 ?? 0) && r < (f.rate429 ?? 0) + f.rate5xx) return '5xx'
    if (f.dropConnectionEvery && this.calls % f.dropConnectionEvery === 0) return 'drop'
    return 'none'
  }
}
