// End to end in Chromium (Debian's /usr/bin/chromium, driven by playwright-core): the built
// app, served by `vite preview` with /api proxied to a real alumnid on a fresh database.
// Screenshots of failed tests go to test-results/ (git-ignored).
import { createAlumniClient, createAlumnus, getAlumnus, getSettings, ifMatch, putSettings, updateAlumnusIfMatch } from '@alumnid/client';
import type { AlumniClient, AlumnusPage } from '@alumnid/client';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { preview } from 'vite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot, startAlumnid } from '../../typescript/test/alumnid';
import type { Alumnid } from '../../typescript/test/alumnid';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(appDir, 'test-results');

let server: Alumnid;
let app: PreviewServer;
let appURL: string;
let profile: string;
let context: BrowserContext;
let page: Page;
let api: AlumniClient; // "someone else", working through the API behind the page's back
let recordId: string;

let provider: ChildProcess; // an OpenID provider for single sign-on (bin/devop: zitadel/oidc's example OP)

/** A port free at the moment of asking. */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => ok(port));
    });
  });
}

beforeAll(async () => {
  // The page's address must be known before alumnid starts: it is the public URL the provider
  // sends the browser back to (through the page's /api proxy), and the passkeys' relying party.
  // Its host is localhost, not 127.0.0.1: browsers refuse an IP address as a WebAuthn RP id.
  const [appPort, providerPort] = [await freePort(), await freePort()];
  const providerFile = join(await mkdtemp(join(tmpdir(), 'alumnid-oidc-')), 'providers.json');
  provider = spawn(join(repoRoot, 'bin/devop'),
    ['--addr', `127.0.0.1:${providerPort}`, '--service', `http://localhost:${appPort}`, '--out', providerFile],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ok, fail) => {
    provider.stdout!.once('data', () => ok());
    provider.once('exit', (code) => fail(new Error(`bin/devop exited (${code})`)));
  });
  server = await startAlumnid({
    alumni: 120,
    serveArgs: ['--oidc-providers-file', providerFile, '--public-url', `http://localhost:${appPort}`],
  });
  app = await preview({
    root: appDir,
    configFile: join(appDir, 'vite.config.ts'),
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: appPort, strictPort: true, proxy: { '/api': { target: server.url, ws: true } } },
  });
  appURL = `http://localhost:${appPort}/`; // vite listens on 127.0.0.1, where Chromium's localhost leads
  profile = await mkdtemp(join(tmpdir(), 'alumnid-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  api = createAlumniClient({ baseURL: server.url, makeDefault: false });
  await api.login(server.staff.email, server.staff.password);
  const created = await createAlumnus(
    { firstName: 'Grace', lastName: 'Quackenbush', address: { city: 'Arlington', country: 'US' }, employment: { employer: 'Navy' } },
    { instance: api.axios },
  );
  recordId = created.data.id;
  // A family no seeded name comes near, for the facets: two in Great Britain, one in the US.
  for (const [firstName, city, country] of [
    ['Ada', 'London', 'GB'],
    ['Mary', 'Edinburgh', 'GB'],
    ['Hedy', 'Boston', 'US'],
  ] as const) {
    await createAlumnus({ firstName, lastName: 'Vanderquill', address: { city, country } }, { instance: api.axios });
  }
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await new Promise<void>((ok) => (app ? app.httpServer.close(() => ok()) : ok()));
  await server?.stop();
  provider?.kill();
});

beforeEach(({ task, onTestFailed }) => {
  onTestFailed(async () => {
    await mkdir(resultsDir, { recursive: true });
    const name = task.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await page.screenshot({ path: join(resultsDir, `${name}.png`), fullPage: true });
  });
});

const results = () => page.getByRole('list', { name: 'Results' }).getByRole('listitem');

describe('the example admin page in Chromium', () => {
  it('refuses a wrong password, then signs in', async () => {
    await page.goto(appURL);
    await page.getByLabel('Email').fill(server.staff.email);
    await page.getByLabel('Password').fill('definitely not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Unauthorized');
    await page.getByLabel('Password').fill(server.staff.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText(`${server.staff.email} (staff)`).waitFor();
  });

  it('shows a change made through the API in the Live changes panel', async () => {
    const live = page.getByRole('region', { name: /Live changes/ });
    await live.getByText('(ready)').waitFor();
    // Behind the page's back: another user changes the record through the API.
    const theirs = await getAlumnus(recordId, undefined, { instance: api.axios });
    await updateAlumnusIfMatch(theirs, { employment: { jobTitle: 'Commodore' } }, { instance: api.axios });
    const item = live.getByRole('list', { name: 'Live changes' }).getByRole('listitem');
    const updated = item.filter({ hasText: recordId }).filter({ hasText: 'alumnus.updated' });
    await updated.first().waitFor();
    expect(await updated.first().textContent()).toContain('employment') // the changed field's name, never its value;
  });

  it('lists alumni and loads more', async () => {
    await page.getByLabel('Count').getByText('25 shown').waitFor();
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByLabel('Count').getByText('50 shown').waitFor();
    expect(await results().count()).toBe(50);
  });

  it('searches with filters', async () => {
    await page.getByLabel('Search').fill('quackenb');
    await page.getByLabel('Country').fill('us');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByLabel('Count').getByText('1 shown').waitFor();
    expect(await results().first().textContent()).toContain('Quackenbush, Grace');
    await page.getByLabel('Country').fill('DE');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('No alumni match.').waitFor();
    await page.getByLabel('Country').fill('');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByLabel('Count').getByText('1 shown').waitFor();
  });

  it('opens a record and saves a change', async () => {
    await page.getByRole('button', { name: 'Quackenbush, Grace' }).click();
    const editor = page.getByRole('region', { name: 'Record' });
    await editor.getByLabel('Employer').fill('Harvard Computation Lab');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.getByRole('status').getByText('Saved.').waitFor();
    const stored = await getAlumnus(recordId, undefined, { instance: api.axios });
    expect(stored.data.employment?.employer).toBe('Harvard Computation Lab');
  });

  it('shows a clear message when someone else changed the record first (412)', async () => {
    const editor = page.getByRole('region', { name: 'Record' });
    await editor.getByLabel('City').fill('Philadelphia');
    // Behind the page's back: another user saves a change to the same record.
    const theirs = await getAlumnus(recordId, undefined, { instance: api.axios });
    await updateAlumnusIfMatch(theirs, { employment: { jobTitle: 'Rear Admiral' } }, { instance: api.axios });
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH');
    await editor.getByRole('button', { name: 'Save' }).click();
    expect((await saved).status()).toBe(412);
    await expect.poll(() => editor.getByRole('alert').textContent()).toContain('Someone else changed this record');
    // The form now shows their version, and nothing of ours was written.
    await expect.poll(() => editor.getByLabel('Job title').inputValue()).toBe('Rear Admiral');
    const stored = await getAlumnus(recordId, undefined, { instance: api.axios });
    expect(stored.data.address?.city).toBe('Arlington');
  });

  it('exports the current search as CSV', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^alumni-\d{4}-\d{2}-\d{2}\.csv$/);
    const text = await readFile((await file.path())!, 'utf8');
    const lines = text.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(lines).toHaveLength(2); // the header and Grace
    expect(lines[1]).toContain('Quackenbush');
  });

  it('searches as you type and finds a misspelled name', async () => {
    const search = page.getByLabel('Search');
    // No Search click: the list follows the search box.
    await search.fill('xyzzyplugh');
    await page.getByText('No alumni match.').waitFor();
    // Quackenbush with a letter left out, typed key by key: one search once typing pauses.
    const asked: string[] = [];
    const onRequest = (r: Request) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/alumni') asked.push(u.searchParams.get('q') ?? '');
    };
    page.on('request', onRequest);
    const answered = page.waitForResponse((r) => {
      const u = new URL(r.url());
      return u.pathname === '/api/v1/alumni' && u.searchParams.get('q') === 'quakenbush';
    });
    await search.clear();
    await search.pressSequentially('quakenbush', { delay: 20 });
    const res = await answered;
    page.off('request', onRequest);
    expect(((await res.json()) as AlumnusPage).items.map((a) => a.id)).toContain(recordId);
    await results().filter({ hasText: 'Quackenbush, Grace' }).waitFor();
    expect(asked.at(-1)).toBe('quakenbush');
    expect(asked.length).toBeLessThan('quakenbush'.length); // debounced: not a search per key
  });

  it('shows the facets of the search, and narrows it by a country', async () => {
    const facets = page.getByRole('complementary', { name: 'Refine' });
    const total = facets.getByLabel('Total');
    const countries = facets.getByRole('list', { name: 'Countries' });
    const gb = countries.getByRole('button', { name: 'GB', exact: true });
    await page.getByLabel('Search').fill('vanderquill');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await expect.poll(() => total.textContent()).toBe('3 matches');
    await expect.poll(() => countries.getByRole('listitem').allTextContents()).toEqual(['GB 2', 'US 1']);
    expect(await facets.getByRole('heading', { name: 'Graduation year' }).count()).toBe(0); // no degrees, no group

    await gb.click();
    await page.getByLabel('Count').getByText('2 shown').waitFor();
    expect(await page.getByLabel('Country').inputValue()).toBe('GB');
    expect(await results().allTextContents()).toEqual([expect.stringContaining('· GB'), expect.stringContaining('· GB')]);
    await expect.poll(() => total.textContent()).toBe('2 matches');
    expect(await gb.getAttribute('aria-pressed')).toBe('true');

    // The value in use, clicked again, lets go of the filter.
    await gb.click();
    await page.getByLabel('Count').getByText('3 shown').waitFor();
    expect(await page.getByLabel('Country').inputValue()).toBe('');
    await expect.poll(() => total.textContent()).toBe('3 matches');
  });

  it('Swagger UI: Authorize with a bearer token from login, then execute an operation', async () => {
    const token = api.tokens()!.accessToken;
    await page.goto(`${server.url}/docs/`);
    await page.getByRole('button', { name: /Authorize/ }).first().click();
    const dialog = page.locator('.modal-ux');
    await dialog.locator('input').first().fill(token);
    await dialog.locator('button.modal-btn.authorize').click(); // "Apply credentials"
    await dialog.getByText('Authorized', { exact: true }).waitFor();
    await dialog.locator('button.btn-done').click();
    const op = page.locator('#operations-auth-getMe');
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/me'));
    await op.getByRole('button', { name: 'Execute' }).click();
    const res = await answered;
    expect(res.status()).toBe(200);
    expect(await res.request().headerValue('authorization')).toBe(`Bearer ${token}`);
    await op.locator('.live-responses-table .response-col_status').getByText('200').waitFor();
  });
});

/** RFC 6238 with SHA-1 and six digits: the code of secret (base32) for the current time step,
 * after waiting out the last two seconds of a step (the server may be ahead). */
async function totpCode(secret: string): Promise<string> {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 2) await new Promise((ok) => setTimeout(ok, left * 1000 + 200));
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

describe('a second factor at sign-in, in Chromium', () => {
  it('leads an admin without one to set up an authenticator app, then shows the recovery codes once', async () => {
    // The office requires a second factor of admins (the default, which the harness turned off).
    const admin = createAlumniClient({ baseURL: server.url, makeDefault: false });
    await admin.login(server.admin.email, server.admin.password);
    const before = await getSettings({ instance: admin.axios });
    await putSettings({ ...before.data, adminsRequireTotp: true }, ifMatch(before.etag), { instance: admin.axios });
    try {
      await page.goto(appURL);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').fill(server.admin.email);
      await page.getByLabel('Password').fill(server.admin.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
      const secret = (await page.getByLabel('Authenticator key').textContent())!;
      expect(await page.getByRole('link', { name: 'Add to an authenticator app' }).getAttribute('href')).toMatch(/^otpauth:\/\/totp\//);

      await page.getByLabel('Code').fill('000000' === (await totpCode(secret)) ? '111111' : '000000'); // a wrong code first
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').waitFor();
      await page.getByLabel('Code').fill(await totpCode(secret));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText(`${server.admin.email} (admin)`).waitFor();

      const codes = page.getByRole('region', { name: 'Recovery codes' });
      expect(await codes.getByRole('listitem').count()).toBe(10);
      await codes.getByRole('button', { name: 'I have kept them' }).click();
      expect(await codes.count()).toBe(0);
    } finally {
      const now = await getSettings({ instance: admin.axios });
      await putSettings({ ...now.data, adminsRequireTotp: false }, ifMatch(now.etag), { instance: admin.axios });
    }
  });
});

describe('single sign-on in Chromium', () => {
  it("signs in through the provider's own page and comes back signed in", async () => {
    await page.goto(appURL);
    const signOut = page.getByRole('button', { name: 'Sign out' });
    if (await signOut.count()) await signOut.click();
    await page.getByRole('button', { name: 'Sign in with Development login' }).click();
    // The provider's login page (zitadel/oidc's example), on its own origin.
    await page.getByLabel('Username:').fill('grace');
    await page.getByLabel('Password:').fill('cobol compiler 1959');
    await page.getByRole('button', { name: 'Login' }).click();
    // Back on the page: the ticket redeemed, the user provisioned with the role the provider's
    // group maps to, and the ticket gone from the address.
    await page.getByText('grace@uni.example (staff)').waitFor();
    expect(new URL(page.url()).hash).toBe('');
  });
});

describe('passkeys in Chromium', () => {
  // A CDP virtual authenticator (WebAuthn.addVirtualAuthenticator): Chromium's own WebAuthn
  // implementation and CTAP2 authenticator model, with resident keys and user verification,
  // answering navigator.credentials for the page; the service checks its attestation and
  // assertions like any other.
  it('registers a passkey, signs in with it without a password and as the second step, and deletes it', async () => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    try {
      await page.goto(appURL);
      const signOut = page.getByRole('button', { name: 'Sign out' });
      if (await signOut.count()) await signOut.click();
      await page.getByLabel('Email').fill(server.staff.email);
      await page.getByLabel('Password').fill(server.staff.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByText(`${server.staff.email} (staff)`).waitFor();

      const panel = page.getByRole('region', { name: 'Passkeys' });
      await panel.getByLabel('Passkey name').fill('Chromium');
      await panel.getByRole('button', { name: 'Add a passkey' }).click();
      await panel.getByRole('list', { name: 'Your passkeys' }).getByText(/^Chromium — added .*, never used/).waitFor();
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(credentials).toHaveLength(1);
      expect(credentials[0]!.isResidentCredential).toBe(true);
      expect(credentials[0]!.rpId).toBe('localhost');

      // Without a password: the passkey names its user.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByText(`${server.staff.email} (staff)`).waitFor();
      await panel.getByText(/^Chromium — added .*, last used/).waitFor();

      // The password now asks for a second step, which the passkey answers.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Email').fill(server.staff.email);
      await page.getByLabel('Password').fill(server.staff.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Second step' }).waitFor();
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.getByText(`${server.staff.email} (staff)`).waitFor();
      const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(after.credentials[0]!.signCount).toBeGreaterThanOrEqual(2);

      await panel.getByRole('button', { name: 'Delete Chromium' }).click();
      await panel.getByText('No passkeys yet.').waitFor();
    } finally {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      await cdp.detach();
    }
  });
});
