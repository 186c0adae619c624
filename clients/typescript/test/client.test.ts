// The package against a real alumnid on a fresh database: sign-in, token refresh after
// expiry, pagination, problem errors, ETag conflicts, export, logout.
import { InfiniteQueryObserver, MutationObserver, QueryClient } from '@tanstack/react-query';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EditConflictError,
  ProblemError,
  alumniInfiniteQueryOptions,
  createAlumnus,
  createAlumniClient,
  deleteAlumnus,
  downloadAlumniExport,
  getAlumnus,
  getMe,
  getSettings,
  listAlumni,
  putSettings,
  ifMatch,
  updateAlumnusIfMatch,
  updateAlumnusMutationOptions,
  withIdempotencyKey,
} from '../src';
import type { AlumniClient, AlumnusInput, Tokens } from '../src';
import { startAlumnid } from './alumnid';
import type { Alumnid } from './alumnid';
import { expiredCopy } from './tokens';

let server: Alumnid;
let admin: AlumniClient;
let refreshes = 0;

beforeAll(async () => {
  server = await startAlumnid({ alumni: 200 });
  admin = createAlumniClient({ baseURL: server.url, onTokens: () => refreshes++ });
});

afterAll(async () => {
  await server?.stop();
});

/** The status of a raw request with this bearer token (no client, no retry). */
async function statusWith(token: string): Promise<number> {
  const res = await axios.get(`${server.url}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
  return res.status;
}

async function rejection(p: Promise<unknown>): Promise<ProblemError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProblemError);
  return e as ProblemError;
}

describe('alumnid client against a real server', () => {
  it('refuses a wrong password with a 401 problem', async () => {
    const e = await rejection(admin.login(server.admin.email, 'not the password at all'));
    expect(e.status).toBe(401);
    expect(e.requestId).toBeTruthy();
    expect(admin.tokens()).toBeNull();
  });

  it('signs in and sends the token', async () => {
    const t = await admin.login(server.admin.email, server.admin.password);
    expect(t.user.role).toBe('admin');
    const me = await getMe();
    expect(me.user.email).toBe(server.admin.email);
  });

  it('changes settings with If-Match, and refuses a stale ETag with an EditConflictError', async () => {
    const current = await getSettings();
    expect(current.etag).toMatch(/^"/);
    const updated = await putSettings({ ...current.data, accessTokenMinutes: 5 }, ifMatch(current.etag));
    expect(updated.data.accessTokenMinutes).toBe(5);
    const e = await rejection(putSettings({ ...current.data, accessTokenMinutes: 6 }, ifMatch(current.etag)));
    expect(e).toBeInstanceOf(EditConflictError);
    expect(e.status).toBe(412);
    const t = await admin.login(server.admin.email, server.admin.password);
    expect(t.expiresIn).toBe(300);
  });

  it('refreshes an expired access token once for concurrent requests and retries them', async () => {
    const before = admin.tokens()!;
    const expired = await expiredCopy(before.accessToken, server.keyFile);
    expect(await statusWith(expired)).toBe(401); // the server really refuses it
    // Put the expired token in place of the valid one, as if 5 minutes had passed.
    const store = admin as unknown as { tokens(): Tokens | null };
    Object.assign(store.tokens()!, { accessToken: expired });
    const counted = refreshes;
    const pages = await Promise.all(Array.from({ length: 4 }, () => listAlumni({ limit: 1 })));
    expect(pages.map((p) => p.items.length)).toEqual([1, 1, 1, 1]);
    expect(refreshes - counted).toBe(1);
    const after = admin.tokens()!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(await statusWith(after.accessToken)).toBe(200);
  });

  it('pages through every record with the infinite-query helper', async () => {
    const queryClient = new QueryClient();
    const observer = new InfiniteQueryObserver(queryClient, alumniInfiniteQueryOptions({ limit: 60, sort: 'lastName' }));
    await observer.refetch();
    let result = observer.getCurrentResult();
    while (result.hasNextPage) result = await observer.fetchNextPage();
    const pages = result.data!.pages;
    expect(pages.map((p) => p.items.length)).toEqual([60, 60, 60, 20]);
    expect(pages.at(-1)!.nextCursor).toBeNull();
    const ids = pages.flatMap((p) => p.items.map((a) => a.id));
    expect(new Set(ids).size).toBe(200);
    queryClient.clear();
  });

  it('reports field errors of an invalid request as a 400 problem', async () => {
    const e = await rejection(createAlumnus({ firstName: 'Ada' } as AlumnusInput));
    expect(e.status).toBe(400);
    expect(e.fieldErrors.length).toBeGreaterThan(0);
    expect(e.fieldErrors.map((f) => f.field)).toContain('lastName');
    const sort = await rejection(listAlumni({ sort: 'shoeSize' as never }));
    expect(sort.status).toBe(400);
    expect(sort.fieldError('sort')).toBeTruthy();
  });

  it('retries a create with an Idempotency-Key without creating twice', async () => {
    const key = crypto.randomUUID();
    const input = { firstName: 'Mary', lastName: 'Somerville' };
    const first = await createAlumnus(input, withIdempotencyKey(key));
    const retry = await createAlumnus(input, withIdempotencyKey(key));
    expect(retry).toEqual(first);
    const reused = await rejection(createAlumnus({ ...input, firstName: 'Marie' }, withIdempotencyKey(key)));
    expect(reused.status).toBe(422);
    expect(reused.type).toBe('https://alumnid.dev/problems/idempotency-key-reused');
    await deleteAlumnus(first.data.id); // the export test below counts the records
  });

  it('updates with If-Match and reports a concurrent change as an EditConflictError', async () => {
    const created = await createAlumnus({ firstName: 'Ada', lastName: 'Lovelace', address: { city: 'London', country: 'GB' } });
    expect(created.etag).toBe('"1"');
    const held = await getAlumnus(created.data.id);
    // Someone else changes the record first.
    const theirs = await updateAlumnusIfMatch(held, { preferredName: 'Countess' });
    expect(theirs.etag).not.toBe(held.etag);
    const e = await rejection(updateAlumnusIfMatch(held, { preferredName: 'Ada' }));
    expect(e).toBeInstanceOf(EditConflictError);
    expect(e.status).toBe(412);
    expect(e.detail).toBeTruthy();

    // The mutation options: success puts the new version into the record's query.
    const queryClient = new QueryClient();
    const mutation = new MutationObserver(queryClient, updateAlumnusMutationOptions(queryClient));
    const mine = await mutation.mutate({ current: theirs, patch: { employment: { employer: 'Analytical Engines Ltd' } } });
    expect(mine.data.employment?.employer).toBe('Analytical Engines Ltd');
    expect(queryClient.getQueryData(['/api/v1/alumni/' + created.data.id])).toEqual(mine);
    const stale = await mutation.mutate({ current: theirs, patch: { preferredName: 'A.' } }).catch((err: unknown) => err);
    expect(stale).toBeInstanceOf(EditConflictError);
    queryClient.clear();
  });

  it('downloads an export as a Blob named by Content-Disposition', async () => {
    const d = await downloadAlumniExport({ format: 'csv', columns: ['firstName', 'lastName', 'city'], q: 'Lovelace' });
    expect(d.filename).toMatch(/^alumni-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(d.contentType).toMatch(/^text\/csv/);
    const text = await d.blob.text();
    const lines = text.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines[0]).toBe('firstName,lastName,city');
    expect(lines).toContain('Ada,Lovelace,London');
    const all = await downloadAlumniExport({ format: 'json' });
    expect(all.filename).toMatch(/\.json$/);
    expect((JSON.parse(await all.blob.text()) as unknown[]).length).toBe(201);
  });

  it('refuses a forbidden export column with a problem read from the Blob', async () => {
    const viewer = createAlumniClient({ baseURL: server.url, makeDefault: false });
    await viewer.login(server.viewer.email, server.viewer.password);
    const e = await rejection(downloadAlumniExport({ format: 'csv', columns: ['notes'] }, { instance: viewer.axios }));
    expect(e.status).toBe(403);
    expect(e.title).toBeTruthy();
    expect(e.requestId).toBeTruthy();
  });

  it('logs out: the session ends on the server and the tokens are gone', async () => {
    const access = admin.tokens()!.accessToken;
    await admin.logout();
    expect(admin.tokens()).toBeNull();
    expect(await statusWith(access)).toBe(401);
    const e = await rejection(getMe());
    expect(e.status).toBe(401);
  });
});
