import { describe, expect, it } from 'vitest';
import { creationOptionsFromJSON, credentialToJSON, requestOptionsFromJSON } from './passkey';

const bytes = (b: ArrayBuffer | BufferSource | undefined) => Array.from(new Uint8Array(b as ArrayBuffer));

describe('passkey options and credentials', () => {
  it('decodes the base64url members of the options', () => {
    const c = creationOptionsFromJSON({
      challenge: '-_8A', // 0xfb 0xff 0x00
      rp: { id: 'localhost', name: 'Alumni Office' },
      user: { id: 'MDE', name: 'a@example.org', displayName: 'a@example.org' },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
      excludeCredentials: [{ id: 'AQI', type: 'public-key', transports: ['internal'] }],
    });
    expect(bytes(c.challenge)).toEqual([0xfb, 0xff, 0x00]);
    expect(bytes(c.user.id)).toEqual([0x30, 0x31]);
    expect(bytes(c.excludeCredentials![0]!.id)).toEqual([1, 2]);
    expect(c.rp.id).toBe('localhost');
    const r = requestOptionsFromJSON({ challenge: 'AAEC', rpId: 'localhost', userVerification: 'required' });
    expect(bytes(r.challenge)).toEqual([0, 1, 2]);
    expect(r.allowCredentials).toBeUndefined();
  });

  it('encodes an assertion as the service takes it', () => {
    const buf = (...b: number[]) => new Uint8Array(b).buffer;
    const cred = {
      id: '-_8',
      rawId: buf(0xfb, 0xff),
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: { clientDataJSON: buf(123, 125), authenticatorData: buf(1), signature: buf(2, 3), userHandle: buf(0x30) },
      getClientExtensionResults: () => ({}),
    } as unknown as PublicKeyCredential;
    expect(credentialToJSON(cred)).toEqual({
      id: '-_8',
      rawId: '-_8',
      type: 'public-key',
      response: { clientDataJSON: 'e30', authenticatorData: 'AQ', signature: 'AgM', userHandle: 'MA' },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    });
  });
});
