import { z } from 'zod'

/*
 * Response shapes for endpoints whose contracts had not landed in shared/contracts when the views
 * were written (GET /api/v1/admin/users). Each is replaced by the shared schema as it lands.
 */
export const adminUsersResponse = z.looseObject({
  users: z.array(
    z.looseObject({
      userId: z.string(),
      name: z.string().nullable(),
      role: z.string().nullable(),
      override: z.enum(['admin', 'manager', 'rep']).nullable().optional(),
    }),
  ),
})
