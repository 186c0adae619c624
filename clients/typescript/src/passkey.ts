// Passkeys in the browser: the service's WebAuthn options (JSON, binary values in base64url)
// to what navigator.credentials takes, and the credential it returns back to JSON. Written
// out rather than PublicKeyCredential.parseCreationOptionsFromJSON()/toJSON(), which not every
// browser in use has.
import type { WebAuthnCredential } from './gen/model';

function fromBase64url(s: string): ArrayBuffer {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toBase64url(buf: ArrayBuffer | ArrayBufferView): string {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

type Descriptor = { id: string; type: string; transports?: string[] };
type Json = Record<string, any>;

const descriptors = (list?: Descriptor[]): PublicKeyCredentialDescriptor[] | undefined =>
  list?.map((d) => ({ ...d, id: fromBase64url(d.id), type: 'public-key', transports: d.transports as AuthenticatorTransport[] | undefined }));

/** The options of POST /api/v1/auth/passkeys/registration (`publicKey`) for navigator.credentials.create(). */
export function creationOptionsFromJSON(o: Json): PublicKeyCredentialCreationOptions {
  return {
    ...o,
    challenge: fromBase64url(o.challenge),
    user: { ...o.user, id: fromBase64url(o.user.id) },
    excludeCredentials: descriptors(o.excludeCredentials),
  } as PublicKeyCredentialCreationOptions;
}

/** The options of POST /api/v1/auth/login/passkey/options (`publicKey`) for navigator.credentials.get(). */
export function requestOptionsFromJSON(o: Json): PublicKeyCredentialRequestOptions {
  return { ...o, challenge: fromBase64url(o.challenge), allowCredentials: descriptors(o.allowCredentials) } as PublicKeyCredentialRequestOptions;
}

/** A credential from navigator.credentials.create() or .get() as the service takes it. */
export function credentialToJSON(c: PublicKeyCredential): WebAuthnCredential {
  const r = c.response;
  const response: WebAuthnCredential['response'] = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if ('attestationObject' in r) {
    const att = r as AuthenticatorAttestationResponse;
    response.attestationObject = toBase64url(att.attestationObject);
    if (typeof att.getTransports === 'function') response.transports = att.getTransports();
  } else {
    const as = r as AuthenticatorAssertionResponse;
    response.authenticatorData = toBase64url(as.authenticatorData);
    response.signature = toBase64url(as.signature);
    if (as.userHandle) response.userHandle = toBase64url(as.userHandle);
  }
  return {
    id: c.id,
    rawId: toBase64url(c.rawId),
    type: 'public-key',
    response,
    authenticatorAttachment: c.authenticatorAttachment,
    clientExtensionResults: c.getClientExtensionResults(),
  };
}

/** Asks the browser's authenticator to create a passkey with options (the service's `publicKey`). */
export async function createCredential(options: unknown): Promise<WebAuthnCredential> {
  const c = await navigator.credentials.create({ publicKey: creationOptionsFromJSON(options as Json) });
  if (!c) throw new Error('no passkey was created');
  return credentialToJSON(c as PublicKeyCredential);
}

/** Asks the browser's authenticator to sign in with a passkey under options (the service's `publicKey`). */
export async function getCredential(options: unknown): Promise<WebAuthnCredential> {
  const c = await navigator.credentials.get({ publicKey: requestOptionsFromJSON(options as Json) });
  if (!c) throw new Error('no passkey answered');
  return credentialToJSON(c as PublicKeyCredential);
}
