import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/** Zoho CRM's single-error envelope: {code, details, message, status:"error"}. */
export function zohoError(
  c: Context<any>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details: Record<string, unknown> = {},
): Response {
  return c.json({ code, details, message, status: 'error' }, status)
}

export const E = {
  authFailure: (c: Context<any>) => zohoError(c, 401, 'AUTHENTICATION_FAILURE', 'Authentication failed'),
  invalidToken: (c: Context<any>) => zohoError(c, 401, 'INVALID_TOKEN', 'invalid oauth token'),
  scope: (c: Context<any>) =>
    zohoError(c, 401, 'OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL'),
  tooMany: (c: Context<any>) =>
    zohoError(c, 429, 'TOO_MANY_REQUESTS', 'The number of API requests has exceeded the allowed limit'),
  internal: (c: Context<any>) => zohoError(c, 500, 'INTERNAL_ERROR', 'Internal Server Error'),
  notFound: (c: Context<any>) =>
    zohoError(c, 404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one'),
  missing: (c: Context<any>, param: string) =>
    zohoError(c, 400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param }),
  invalid: (c: Context<any>, param: string, message = 'invalid data') =>
    zohoError(c, 400, 'INVALID_DATA', message, { param_name: param }),
  noPermission: (c: Context<any>) => zohoError(c, 403, 'NO_PERMISSION', 'permission denied'),
  invalidModule: (c: Context<any>) =>
    zohoError(c, 400, 'INVALID_MODULE', 'the module name given seems to be invalid', {
      resource_path_index: 0,
    }),
}
