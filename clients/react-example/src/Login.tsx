import type { AlumniClient, LoginChallenge, SecondFactor, TotpEnrolment } from '@alumnid/client';
import { SecondFactorRequired, getListSsoProvidersQueryOptions } from '@alumnid/client';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ProblemMessage } from './Problem';

/** The second step of a sign-in that asks for one: the challenge, and the new secret when the
 * user must first set up an authenticator app. */
type Step = { challenge: LoginChallenge; enrolment?: TotpEnrolment };

export function Login({ client, onRecoveryCodes }: { client: AlumniClient; onRecoveryCodes: (codes: string[]) => void }) {
  const [step, setStep] = useState<Step | null>(null);
  const login = useMutation({
    mutationFn: async ({ email, password }: { email: string; password: string }) => {
      try {
        await client.login(email, password);
      } catch (e) {
        if (!(e instanceof SecondFactorRequired)) throw e;
        const enrolment = e.challenge.next === 'enrol' ? await client.startLoginEnrolment(e.challenge.challenge) : undefined;
        setStep({ challenge: e.challenge, enrolment });
      }
    },
  });
  // Single sign-on: one button per provider the service offers; the provider sends the browser
  // back to this page with a ticket in the address's fragment, redeemed here for the tokens.
  const providers = useQuery(getListSsoProvidersQueryOptions());
  const sso = useMutation({
    mutationFn: async () => {
      await client.completeSso();
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    },
  });
  const { mutate: redeem } = sso;
  useEffect(() => {
    if (window.location.hash.includes('ssoTicket=')) redeem();
  }, [redeem]);
  // A passkey: the second step of this sign-in (with its challenge), or a sign-in without a
  // password (no challenge): the browser asks the authenticator.
  const passkey = useMutation({ mutationFn: (challenge?: string) => client.signInWithPasskey(challenge) });
  const complete = useMutation({
    mutationFn: async (answer: SecondFactor) => {
      const tokens = await client.completeLogin(step!.challenge.challenge, answer);
      if (tokens.recoveryCodes?.length) onRecoveryCodes(tokens.recoveryCodes);
    },
  });

  if (step) {
    return (
      <main className="login">
        <h1>{step.enrolment ? 'Set up your authenticator app' : 'Second step'}</h1>
        {step.enrolment && (
          <p>
            Your account needs a second factor. Add this key to an authenticator app, or open the link on your phone, then
            enter the first code it shows.
            <br />
            Key: <code aria-label="Authenticator key">{step.enrolment.secret}</code>
            <br />
            <a href={step.enrolment.otpauthUri}>Add to an authenticator app</a>
          </p>
        )}
        {(!step.challenge.factors || step.challenge.factors.includes('totp')) && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const code = String(new FormData(e.currentTarget).get('code')).replace(/\s/g, '');
              // Six digits are a code of the app; anything else is taken for a recovery code.
              complete.mutate(/^\d{6}$/.test(code) ? { code } : { recoveryCode: code });
            }}
          >
            <label>
              Code <input name="code" autoComplete="one-time-code" inputMode="numeric" required />
            </label>
            <button type="submit" disabled={complete.isPending}>
              {complete.isPending ? 'Checking…' : 'Continue'}
            </button>
          </form>
        )}
        {!step.enrolment && <p className="hint">Lost your phone? Enter one of your recovery codes instead.</p>}
        {complete.isError && <ProblemMessage error={complete.error} />}
        {step.challenge.factors?.includes('passkey') && (
          <p>
            <button onClick={() => passkey.mutate(step.challenge.challenge)} disabled={passkey.isPending}>
              Use a passkey
            </button>
          </p>
        )}
        {passkey.isError && <ProblemMessage error={passkey.error} />}
        <button className="link" onClick={() => setStep(null)}>
          Start again
        </button>
      </main>
    );
  }
  return (
    <main className="login">
      <h1>Sign in</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          login.mutate({ email: String(f.get('email')), password: String(f.get('password')) });
        }}
      >
        <label>
          Email <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {login.isError && <ProblemMessage error={login.error} />}
      <p>
        <button onClick={() => passkey.mutate(undefined)} disabled={passkey.isPending}>
          Sign in with a passkey
        </button>
      </p>
      {passkey.isError && <ProblemMessage error={passkey.error} />}
      {(providers.data?.items.length ?? 0) > 0 && (
        <section aria-label="Single sign-on">
          <p>Or sign in with your organisation's account:</p>
          {providers.data!.items.map((p) => (
            <button key={p.id} onClick={() => window.location.assign(client.ssoStartUrl(p.id, window.location.origin + window.location.pathname))}>
              Sign in with {p.name}
            </button>
          ))}
        </section>
      )}
      {sso.isPending && <p>Signing you in…</p>}
      {sso.isError && <ProblemMessage error={sso.error} />}
    </main>
  );
}
