/** Typed failures of the Zoho client, so callers can react without parsing messages. */

/** A CRM API call Zoho answered with an error (after any retries), e.g. 400 EXPIRED_VALUE. */
export class ZohoApiError extends Error {
  override name = 'ZohoApiError'
  constructor(
    readonly status: number,
    /** Zoho's code (INVALID_TOKEN, EXPIRED_VALUE, TOKEN_BOUND_DATA_MISMATCH, ...), or HTTP_<status>. */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Method and path without the query string (queries can hold page tokens). */
    readonly path = '',
  ) {
    super(`Zoho ${status} ${code}: ${message}${path ? ` (${path})` : ''}`)
  }

  /** The page token no longer works: restart that pagination from the last checkpoint. */
  get restartPagination(): boolean {
    return this.status === 400 && (this.code === 'EXPIRED_VALUE' || this.code === 'TOKEN_BOUND_DATA_MISMATCH')
  }
}

/**
 * Zoho still answered 429 after every retry. A 429 means the org's 24-hour credits are spent or
 * too many calls are in flight, and says which in neither case (X-API-CREDITS-REMAINING only shows
 * past half the allowance): either way the cure is minutes to hours, so a sync pauses on it.
 */
export class ZohoRateLimitError extends ZohoApiError {
  override name = 'ZohoRateLimitError'
  constructor(
    code: string,
    message: string,
    details: Record<string, unknown>,
    path: string,
    /** Calls refused in a row. */
    readonly attempts: number,
  ) {
    super(429, code, `${message}; refused ${attempts} times in a row`, details, path)
  }
}

/** The request never got a usable answer: network failure or dropped connection, after retries. */
export class ZohoNetworkError extends Error {
  override name = 'ZohoNetworkError'
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message)
  }
}

/** The OAuth token endpoint refused (invalid_code, invalid_client, Access Denied ...). */
export class ZohoOAuthError extends Error {
  override name = 'ZohoOAuthError'
  constructor(
    /** Zoho's `error` value, e.g. invalid_code. */
    readonly code: string,
    message: string,
    readonly status = 200,
  ) {
    super(message)
  }

  /** Re-authorizing is the only fix (the refresh token or client is no longer valid). */
  get needsReconnect(): boolean {
    return [
      'invalid_code',
      'invalid_client',
      'invalid_client_secret',
      'invalid_grant',
      'unauthorized_client',
    ].includes(this.code)
  }
}

/** The org's Zoho connection cannot be used until an admin reconnects (broken, revoked or missing). */
export class ZohoConnectionError extends Error {
  override name = 'ZohoConnectionError'
  constructor(
    readonly orgId: string,
    readonly state: 'missing' | 'broken' | 'revoked',
    message: string,
  ) {
    super(message)
  }
}

/** A client-side budget is spent (hourly API calls, or 10 token refreshes per 10 minutes). */
export class ZohoBudgetError extends Error {
  override name = 'ZohoBudgetError'
  constructor(
    readonly budget: 'api_calls' | 'token_refresh',
    message: string,
    /** How long until the budget allows the next call. */
    readonly retryAfterMs: number,
  ) {
    super(message)
  }
}
