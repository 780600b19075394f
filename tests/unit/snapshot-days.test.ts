import { describe, expect, it } from 'vitest'
import { defaultFrom } from '../../widget/src/components/snapshot-days'

describe("the waterfall's default first day", () => {
  it('is a day that has a snapshot, 30 days or more before the newest', () => {
    // 2026-10-28 (30 days before 11-27) was not snapshotted: the server was down that midnight.
    const days = ['2026-10-20', '2026-10-26', '2026-10-27', '2026-10-29', '2026-11-27']
    expect(defaultFrom(days)).toBe('2026-10-27')
    expect(defaultFrom(['2026-10-28', '2026-11-27'])).toBe('2026-10-28')
  })
  it('is the oldest snapshot when none is that old, and none without snapshots', () => {
    expect(defaultFrom(['2026-11-20', '2026-11-27'])).toBe('2026-11-20')
    expect(defaultFrom([])).toBeNull()
  })
})
