// Makes an access token that has expired: the same header and claims as a real one (so the
// same session), with exp in the past, signed with the server's key.
import { createPrivateKey, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const b64url = (b: Buffer) => b.toString('base64url');

export async function expiredCopy(accessToken: string, keyFile: string): Promise<string> {
  const [header, payload] = accessToken.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  // Well past the server's 30 s leeway.
  Object.assign(claims, { iat: now - 3600, nbf: now - 3600, exp: now - 600 });
  const signingInput = `${header}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
  const key = createPrivateKey(await readFile(keyFile));
  return `${signingInput}.${b64url(sign(null, Buffer.from(signingInput), key))}`;
}
