import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Cron } from 'croner'
import { SCHEDULES, jobForCron } from '../../api/src/schedules'

describe('cron schedules', () => {
  it('wrangler.toml declares exactly the crons the code routes', () => {
    const toml = readFileSync('wrangler.toml', 'utf8')
    const line = toml.split('\n').find((l) => l.startsWith('crons'))!
    const crons = JSON.parse(line.slice(line.indexOf('=') + 1)) as string[]
    expect(crons.sort()).toEqual(Object.values(SCHEDULES).sort())
    for (const c of crons) expect(jobForCron(c)).toBeDefined()
  })

  it('the weekly FX refresh fires on Monday 00:00 UTC in the Node scheduler too', () => {
    const next = new Cron(SCHEDULES.fx, {
      timezone: 'UTC',
      alternativeWeekdays: true,
      mode: '5-part',
    }).nextRun(new Date('2026-11-26T12:00:00Z'))
    expect(next?.toISOString()).toBe('2026-11-30T00:00:00.000Z')
  })
})
