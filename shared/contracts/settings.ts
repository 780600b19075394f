import { z } from 'zod'
import type { EndpointDoc } from './common'

export const settingsResponse = z.object({
  fiscalYearStartMonth: z.number().int().min(1).max(12),
  quietDays: z.number().int(),
  /** Only the stages an admin has set. */
  staleDaysByStage: z.record(z.string(), z.number()),
  /** The effective stuck threshold of every open stage. */
  thresholds: z.array(
    z.object({
      stage: z.string(),
      days: z.number(),
      source: z.enum(['setting', 'default']),
      /** Median days won deals spent in the stage (the default's basis), when known. */
      medianWonDays: z.number().nullable(),
    }),
  ),
})
export type SettingsResponse = z.infer<typeof settingsResponse>

export const settingsUpdate = z
  .object({
    fiscalYearStartMonth: z.number().int().min(1).max(12).optional(),
    quietDays: z.number().int().min(1).max(3650).optional(),
    /** Per stage display value: days, or null to return to the default. */
    staleDaysByStage: z
      .record(z.string().min(1).max(200), z.number().int().min(1).max(3650).nullable())
      .optional(),
  })
  .strict()
export type SettingsUpdate = z.infer<typeof settingsUpdate>

export const settingsEndpoints: EndpointDoc[] = [
  {
    method: 'get',
    path: '/settings',
    tag: 'Settings',
    summary: 'Analytics settings: fiscal year start, quiet days, stuck thresholds per stage',
    response: settingsResponse,
    roles: ['admin'],
  },
  {
    method: 'put',
    path: '/settings',
    tag: 'Settings',
    summary: 'Change analytics settings (audit-logged)',
    body: settingsUpdate,
    response: settingsResponse,
    roles: ['admin'],
  },
]
