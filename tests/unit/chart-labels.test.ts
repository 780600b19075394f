import { describe, expect, it } from 'vitest'
import { shortLabels } from '../../widget/src/components/chart-labels'

describe('chart category labels on a narrow chart', () => {
  it('keeps labels that fit', () => {
    expect(shortLabels(['Qualification', 'Closed Won'], 20)).toEqual(['Qualification', 'Closed Won'])
  })

  it('drops the words every label shares before cutting, so the bars stay told apart', () => {
    const quarters = ['FY2026 Q1', 'FY2026 Q2', 'FY2026 Q3', 'FY2026 Q4']
    expect(shortLabels(quarters, 8)).toEqual(['Q1', 'Q2', 'Q3', 'Q4'])
    expect(shortLabels(['Jan 2026', 'Feb 2026', 'Mar 2026'], 6)).toEqual(['Jan', 'Feb', 'Mar'])
  })

  it('cuts what is still too long with an ellipsis', () => {
    expect(shortLabels(['Qualification', 'Needs Analysis', 'Closed Won'], 6)).toEqual([
      'Quali…',
      'Needs…',
      'Close…',
    ])
    // One label alone keeps its words (nothing to tell it apart from).
    expect(shortLabels(['FY2026 Q1'], 6)).toEqual(['FY202…'])
  })
})
