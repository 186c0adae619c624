// The second factor through the client against a real alumnid: enrol, sign in in two steps
// (SecondFactorRequired, then completeLogin), a recovery code, and turning it off.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemError, SecondFactorRequired, confirmTotpEnrolment, createAlumniClient, disableTotp, getTotp, startTotpEnrolment } from '../src';
import { startAlumnid } from './alumnid';
import type { Alumnid } from './alumnid';

let server: Alumnid;

beforeAll(async () => {
  server = await startAlumnid({ alumni: 10 });
});

afterAll(async () => {
  await server?.stop();
});

function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of text.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 with SHA-1 and six digits: the code of time step `step`. */
function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** The current step, after waiting out the last two seconds of a step (the server may be ahead). */
async function currentStep(): Promise<number> {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < 2) await new Promise((ok) => setTimeout(ok, left * 1000 + 200));
  return Math.floor(Date.now() / 30_000);
}

describe('second factor through the client', () => {
  it('enrols, signs in with a code and a recovery code, and turns it off', async () => {
    const c = createAlumniClient({ baseURL: server.url, makeDefault: false });
    await c.login(server.staff.email, server.staff.password);
    const opts = { instance: c.axios };

    const e = await startTotpEnrolment(opts);
    expect(e.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const step = await currentStep();
    const { recoveryCodes } = await confirmTotpEnrolment({ code: totp(e.secret, step - 1) }, opts);
    expect(recoveryCodes).toHaveLength(10);

    const second = await c.login(server.staff.email, server.staff.password).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(second).toBeInstanceOf(SecondFactorRequired);
    const { challenge } = (second as SecondFactorRequired).challenge;
    expect((second as SecondFactorRequired).challenge.next).toBe('totp');

    // The code just used is refused (replay); the next one opens the session.
    const replay = await c.completeLogin(challenge, { code: totp(e.secret, step - 1) }).catch((err: unknown) => err);
    expect(replay).toBeInstanceOf(ProblemError);
    expect((replay as ProblemError).status).toBe(401);
    const t = await c.completeLogin(challenge, { code: totp(e.secret, step) });
    expect(c.tokens()?.accessToken).toBe(t.accessToken);

    const again = (await c.login(server.staff.email, server.staff.password).catch((err: unknown) => err)) as SecondFactorRequired;
    await c.completeLogin(again.challenge.challenge, { recoveryCode: recoveryCodes[0]! });
    expect((await getTotp(opts)).recoveryCodesLeft).toBe(9);

    await disableTotp({ code: totp(e.secret, step + 1) }, opts);
    expect((await getTotp(opts)).enabled).toBe(false);
    await c.login(server.staff.email, server.staff.password);
  });
});
