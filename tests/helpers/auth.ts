import type { Config } from '../../api/src/config'
import { SESSION_COOKIE, SESSION_PURPOSE, WIDGET_TOKEN_PURPOSE } from '../../api/src/auth/middleware'
import { signToken } from '../../api/src/auth/token'

/** Request headers that authenticate as a synced Zoho user (role comes from the users/roles tables). */
export async function asUser(config: Config, orgId: string, userId: string): Promise<Record<string, string>> {
  const token = await signToken(config.secretKey, SESSION_PURPOSE, {
    orgId,
    userId,
    exp: Math.floor(Date.now() / 1000) + 3600,
  })
  return { cookie: `${SESSION_COOKIE}=${token}` }
}

export async function asWidget(
  config: Config,
  orgId: string,
  userId: string,
): Promise<Record<string, string>> {
  const token = await signToken(config.secretKey, WIDGET_TOKEN_PURPOSE, {
    orgId,
    userId,
    exp: Math.floor(Date.now() / 1000) + 900,
  })
  return { authorization: `Bearer ${token}` }
}
