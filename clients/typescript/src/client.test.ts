// The refresh logic against an in-process fake of the auth endpoints (an Axios adapter):
// the server-facing behaviour is tested against a real alumnid in test/.
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { AxiosError } from 'axios';
import { describe, expect, it } from 'vitest';
import { SecondFactorRequired, createAlumniClient } from './client';
import { getMe } from './gen/endpoints/auth/auth';
import type { Tokens } from './gen/model';
import { ProblemError } from './problem';

function tokens(n: number): Tokens {
  return {
    accessToken: `access-${n}`,
    refreshToken: `refresh-${n}`,
    tokenType: 'Bearer',
    expiresIn: 900,
    refreshExpiresAt: '2030-01-01T00:00:00Z',
    user: { id: 'u', email: 'a@b.test', role: 'staff', enabled: true, createdAt: '', updatedAt: '' },
  };
}

/** A fake server: valid is the access token it accepts; refreshes counts /refresh calls. */
function fakeServer() {
  const state = { valid: 'access-1', refreshes: 0, refreshWorks: true, seen: [] as string[], release: Promise.resolve(), unauthorized: 0, onUnauthorized: (_n: number): unknown => undefined };
  const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
    const reply = (status: number, data: unknown): AxiosResponse => {
      const res = { status, statusText: String(status), data, headers: {}, config } as AxiosResponse;
      if (status >= 400) throw new AxiosError(`status ${status}`, 'ERR_BAD_REQUEST', config, {}, res);
      return res;
    };
    const auth = config.headers.get('Authorization');
    state.seen.push(`${config.url} ${auth ?? ''}`);
    if (config.url === '/api/v1/auth/refresh') {
      state.refreshes++;
      await state.release;
      if (!state.refreshWorks) return reply(401, { type: 'x', title: 'Unauthorized', status: 401, requestId: 'r' });
      state.valid = `access-${state.refreshes + 1}`;
      return reply(200, tokens(state.refreshes + 1));
    }
    if (config.url === '/api/v1/auth/logout') return reply(204, '');
    if (auth !== `Bearer ${state.valid}`) {
      state.onUnauthorized(++state.unauthorized);
      return reply(401, { type: 'x', title: 'Unauthorized', status: 401, requestId: 'r' });
    }
    return reply(200, { user: tokens(1).user, sessionId: 's', sessionExpiresAt: '2030-01-01T00:00:00Z' });
  };
  return { state, adapter };
}

function signedIn(adapter: AxiosAdapter, onSessionEnd?: () => void) {
  const client = createAlumniClient({ baseURL: 'http://api.test', makeDefault: false, onSessionEnd });
  client.axios.defaults.adapter = adapter;
  return client;
}

describe('createAlumniClient', () => {
  it('sends the access token and refreshes once for concurrent 401s, then retries them', async () => {
    const { state, adapter } = fakeServer();
    const client = signedIn(adapter);
    await seedTokens(client, tokens(1));
    state.valid = 'access-0'; // the server no longer accepts access-1
    // The refresh answers only once all five requests have had their 401.
    let release!: () => void;
    state.release = new Promise<void>((r) => (release = r));
    state.onUnauthorized = (n) => n === 5 && release();
    const results = await Promise.all(Array.from({ length: 5 }, () => getMe({ instance: client.axios })));
    expect(results.map((m) => m.user.email)).toEqual(Array(5).fill('a@b.test'));
    expect(state.refreshes).toBe(1);
    expect(client.tokens()?.accessToken).toBe('access-2');
    expect(state.seen.filter((s) => s.endsWith('Bearer access-2'))).toHaveLength(5);
  });

  it('does not refresh again for a request that got its 401 with an older token', async () => {
    const { state, adapter } = fakeServer();
    const client = signedIn(adapter);
    await seedTokens(client, tokens(1));
    state.valid = 'access-0';
    await getMe({ instance: client.axios });
    expect(state.refreshes).toBe(1);
    await getMe({ instance: client.axios });
    expect(state.refreshes).toBe(1);
  });

  it('ends the session when the refresh is refused, and rejects with the 401', async () => {
    const { state, adapter } = fakeServer();
    let ended = 0;
    const client = signedIn(adapter, () => ended++);
    await seedTokens(client, tokens(1));
    state.valid = 'access-0';
    state.refreshWorks = false;
    const err = await getMe({ instance: client.axios }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProblemError);
    expect((err as ProblemError).status).toBe(401);
    expect(client.tokens()).toBeNull();
    expect(ended).toBe(1);
    expect(state.refreshes).toBe(1);
  });

  it('logout tells the server and forgets the tokens', async () => {
    const { state, adapter } = fakeServer();
    const client = signedIn(adapter);
    await seedTokens(client, tokens(1));
    await client.logout();
    expect(state.seen.at(-1)).toBe('/api/v1/auth/logout Bearer access-1');
    expect(client.tokens()).toBeNull();
  });
});

/** Signs in through the fake: its login answer is tokens t. */
async function seedTokens(client: ReturnType<typeof createAlumniClient>, t: Tokens) {
  const previous = client.axios.defaults.adapter as AxiosAdapter;
  client.axios.defaults.adapter = async (config) => ({ status: 200, statusText: 'OK', data: t, headers: {}, config });
  await client.login('a@b.test', 'secret secret secret');
  client.axios.defaults.adapter = previous;
}

describe('single sign-on and second-factor helpers', () => {
  it('builds the start address and redeems the ticket of the fragment, keeping the tokens', async () => {
    const posted: unknown[] = [];
    const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
      posted.push([config.url, JSON.parse(String(config.data))]);
      return { status: 200, statusText: '200', data: tokens(7), headers: {}, config } as AxiosResponse;
    };
    const client = signedIn(adapter);
    expect(client.ssoStartUrl('university', 'https://app.test/signed-in?x=1')).toBe(
      'http://api.test/api/v1/auth/sso/university/start?returnTo=https%3A%2F%2Fapp.test%2Fsigned-in%3Fx%3D1',
    );
    expect(await client.completeSso('#other=1')).toBeNull();
    const t = await client.completeSso('#ssoTicket=abc%2Fdef');
    expect(t?.accessToken).toBe('access-7');
    expect(client.tokens()?.accessToken).toBe('access-7');
    expect(posted).toEqual([['/api/v1/auth/sso/redeem', { ticket: 'abc/def' }]]);
  });

  it('rejects login with SecondFactorRequired on a 202 challenge, and completes it with a code', async () => {
    const adapter: AxiosAdapter = async (config: InternalAxiosRequestConfig) => {
      const data =
        config.url === '/api/v1/auth/login'
          ? { challenge: 'ch-1', next: 'totp', expiresAt: '2030-01-01T00:00:00Z' }
          : tokens(9);
      return { status: config.url === '/api/v1/auth/login' ? 202 : 200, statusText: '', data, headers: {}, config } as AxiosResponse;
    };
    const client = signedIn(adapter);
    const e = await client.login('a@b.test', 'pw').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SecondFactorRequired);
    expect((e as SecondFactorRequired).challenge.next).toBe('totp');
    expect(client.tokens()).toBeNull();
    await client.completeLogin('ch-1', { code: '123456' });
    expect(client.tokens()?.accessToken).toBe('access-9');
  });
});
