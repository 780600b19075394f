import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { ZodError } from 'zod'
import type { AppEnv } from './types'

/** The one error type routes throw; the handler turns it into the envelope. */
export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 502 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST') => new AppError(400, code, message)
export const unauthorized = (message = 'Sign in first', code = 'UNAUTHENTICATED') =>
  new AppError(401, code, message)
export const forbidden = (message = 'Not allowed', code = 'FORBIDDEN') => new AppError(403, code, message)
export const notFound = (message = 'Not found', code = 'NOT_FOUND') => new AppError(404, code, message)

export function errorBody(c: Context<AppEnv>, code: string, message: string) {
  return { error: { code, message, requestId: c.get('requestId') ?? '' } }
}

export function zodMessage(e: ZodError): string {
  return e.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`)
    .join('; ')
}

/** Logs and reports an unexpected error: a 500, or one after a streamed response has begun. */
export function reportUnhandled(c: Context<AppEnv>, err: unknown, message = 'unhandled error') {
  const deps = c.get('deps')
  deps?.logger.error(message, { requestId: c.get('requestId'), path: c.req.path, err })
  deps?.reportError?.(err)
}

/** Hono onError: one envelope for everything; 500s are logged and reported, never leak internals. */
export function handleError(err: Error, c: Context<AppEnv>) {
  if (err instanceof AppError) return c.json(errorBody(c, err.code, err.message), err.status)
  if (err instanceof ZodError) return c.json(errorBody(c, 'INVALID_INPUT', zodMessage(err)), 400)
  if (err instanceof HTTPException) {
    const status = err.status
    const code = status === 400 ? 'BAD_REQUEST' : status === 401 ? 'UNAUTHENTICATED' : `HTTP_${status}`
    return c.json(errorBody(c, code, err.message || 'Request failed'), status)
  }
  reportUnhandled(c, err)
  return c.json(
    errorBody(c, 'INTERNAL', 'Something went wrong; the request id identifies it in the logs'),
    500,
  )
}
