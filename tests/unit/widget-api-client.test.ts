import { afterEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { ApiError, configureApi, get, send } from '../../widget/src/api'

/**
 * The widget's HTTP client: a 401 signs in again (the widget's shared sign-in) and retries once, so a
 * token that died before its renewal timer fired does not strand the user; the token exchange itself
 * never re-authenticates (it would wait on itself). Requests are aborted only by their own signal.
 */

const ok = (body: unknown) => new Response(JSON.stringify(body), { status: 200 })
const unauthorized = () =>
  new Response(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'Token expired' } }), {
    status: 401,
  })

let token = 'old'
function fakeServer() {
  const seen: string[] = []
  const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
    const auth = (init.headers as Record<string, string>).authorization ?? ''
    seen.push(auth)
    return auth === 'Bearer new' ? ok({ n: 1 }) : unauthorized()
  })
  vi.stubGlobal('fetch', fetchMock)
  return { seen, fetchMock }
}

afterEach(() => {
  vi.unstubAllGlobals()
  configureApi({ base: '' })
  token = 'old'
})

describe('widget API client', () => {
  it('re-authenticates once on a 401 and retries with the new token', async () => {
    const { seen } = fakeServer()
    const reauthenticate = vi.fn(async () => {
      token = 'new'
    })
    configureApi({ base: 'https://api.test', token: () => token, reauthenticate })
    await expect(get('/x', z.object({ n: z.number() }))).resolves.toEqual({ n: 1 })
    expect(reauthenticate).toHaveBeenCalledTimes(1)
    expect(seen).toEqual(['Bearer old', 'Bearer new'])
  })

  it('a 401 that returns after another request signed in again just retries with the new token', async () => {
    const { seen } = fakeServer()
    const reauthenticate = vi.fn(async () => {
      token = 'new'
    })
    configureApi({ base: 'https://api.test', token: () => token, reauthenticate })
    // Both leave with the old token; the second's 401 is read only once the first has signed in.
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const slow = vi.fn(async (_url: string, init: RequestInit) => {
      const auth = (init.headers as Record<string, string>).authorization ?? ''
      seen.push(auth)
      if (auth === 'Bearer new') return ok({ n: 1 })
      if (seen.length === 2) await gate
      return unauthorized()
    })
    vi.stubGlobal('fetch', slow)
    const first = get('/a', z.object({ n: z.number() }))
    const second = get('/b', z.object({ n: z.number() }))
    await expect(first).resolves.toEqual({ n: 1 })
    release()
    await expect(second).resolves.toEqual({ n: 1 })
    expect(reauthenticate).toHaveBeenCalledTimes(1)
  })

  it('retries only once: a second 401 is reported', async () => {
    const { seen } = fakeServer()
    const reauthenticate = vi.fn(async () => {
      token = 'still-bad'
    })
    configureApi({ base: 'https://api.test', token: () => token, reauthenticate })
    const err = await get('/x', z.unknown()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(401)
    expect(reauthenticate).toHaveBeenCalledTimes(1)
    expect(seen).toHaveLength(2)
  })

  it('reports the 401 when signing in again fails', async () => {
    fakeServer()
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const reauthenticate = vi.fn(() => Promise.reject(new Error('Deluge function failed')))
    configureApi({ base: 'https://api.test', token: () => token, reauthenticate })
    const err = await get('/x', z.unknown()).catch((e: unknown) => e)
    expect((err as ApiError).status).toBe(401)
  })

  it('never re-authenticates for the token exchange itself, nor sends it the old token', async () => {
    const { seen } = fakeServer()
    const reauthenticate = vi.fn(async () => {})
    configureApi({ base: 'https://api.test', token: () => token, reauthenticate })
    const err = await send('POST', '/api/v1/auth/widget', {}, z.unknown(), { signIn: true }).catch(
      (e: unknown) => e,
    )
    expect((err as ApiError).status).toBe(401)
    expect(reauthenticate).not.toHaveBeenCalled()
    expect(seen).toEqual([''])
  })

  it('lets two requests to the same endpoint run side by side (no shared request slot)', async () => {
    const pending: ((r: Response) => void)[] = []
    vi.stubGlobal(
      'fetch',
      // Like fetch: an aborted signal rejects the request.
      vi.fn(
        (_url: string, init: RequestInit) =>
          new Promise<Response>((resolve, reject) => {
            pending.push(resolve)
            init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
          }),
      ),
    )
    const a = get('/api/v1/pipeline/by-owner', z.object({ n: z.number() }))
    const b = get('/api/v1/pipeline/by-owner', z.object({ n: z.number() }))
    await vi.waitFor(() => expect(pending).toHaveLength(2))
    pending[0]!(ok({ n: 1 }))
    pending[1]!(ok({ n: 2 }))
    await expect(Promise.all([a, b])).resolves.toEqual([{ n: 1 }, { n: 2 }])
  })
})
