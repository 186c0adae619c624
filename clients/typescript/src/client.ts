// The configured client: base URL, the access token on every request, one shared token
// refresh on 401 followed by a retry, login and logout.
import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import axios, { isAxiosError } from 'axios';
import {
  completeLogin as completeLoginCall,
  createPasskey,
  finishPasskeySignIn,
  login as loginCall,
  logout as logoutCall,
  redeemSsoTicket,
  refreshTokens,
  startLoginTotpEnrolment,
  startPasskeyRegistration,
  startPasskeySignIn,
} from './gen/endpoints/auth/auth';
import type { LoginChallenge, Passkey, Tokens, TotpEnrolment } from './gen/model';
import { setDefaultInstance } from './http';
import { createCredential, getCredential } from './passkey';

/** Where the client keeps the session's tokens (memory by default; see sessionStorageTokens). */
export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

/** Keeps tokens in memory: they are gone when the page reloads. */
export function memoryTokens(): TokenStore {
  let tokens: Tokens | null = null;
  return { get: () => tokens, set: (t) => void (tokens = t) };
}

/** Keeps tokens in the browser's sessionStorage under key, so a reload keeps the session. */
export function sessionStorageTokens(key = 'alumnid.tokens'): TokenStore {
  return {
    get: () => {
      const raw = sessionStorage.getItem(key);
      return raw ? (JSON.parse(raw) as Tokens) : null;
    },
    set: (t) => (t ? sessionStorage.setItem(key, JSON.stringify(t)) : sessionStorage.removeItem(key)),
  };
}

/**
 * A sign-in whose password was right and that needs a second step (the server answered 202):
 * `challenge.next` is `totp` (send a code with completeLogin) or `enrol` (this admin must set
 * up a second factor: startLoginEnrolment, then completeLogin with its first code).
 */
export class SecondFactorRequired extends Error {
  override readonly name: string = 'SecondFactorRequired';
  readonly challenge: LoginChallenge;

  constructor(challenge: LoginChallenge) {
    super(challenge.next === 'enrol' ? 'Set up a second factor to sign in.' : 'Enter the code of your authenticator app.');
    this.challenge = challenge;
  }
}

/** What completes a sign-in: a code of the authenticator app, or a recovery code. */
export type SecondFactor = { code: string } | { recoveryCode: string };

function isChallenge(body: Tokens | LoginChallenge): body is LoginChallenge {
  return 'challenge' in body && 'next' in body;
}

export interface ClientConfig {
  /** The server's origin, e.g. https://alumni.example.edu; '' (the default) for the page's own. */
  baseURL?: string;
  /** Where tokens are kept; memoryTokens() by default. */
  tokens?: TokenStore;
  /** Called when the session ends: logout, or a refresh the server refused. */
  onSessionEnd?: () => void;
  /** Called with each new token pair (login and refresh). */
  onTokens?: (tokens: Tokens) => void;
  /** Make generated functions use this client when called without an instance (default true). */
  makeDefault?: boolean;
}

export interface AlumniClient {
  /** The Axios instance: pass { instance: client.axios } to a generated function to use it. */
  readonly axios: AxiosInstance;
  /**
   * Signs in and keeps the tokens. Rejects with a ProblemError (401 for bad credentials), or
   * with SecondFactorRequired when the account asks for a second step.
   */
  login(email: string, password: string): Promise<Tokens>;
  /**
   * The second step of a sign-in: the challenge of a SecondFactorRequired with a code or a
   * recovery code. Keeps the tokens; after an enrolment they carry the recovery codes.
   */
  completeLogin(challenge: string, answer: SecondFactor): Promise<Tokens>;
  /** For a challenge with next `enrol`: a new TOTP secret (and its otpauth:// URI for a QR code). */
  startLoginEnrolment(challenge: string): Promise<TotpEnrolment>;
  /**
   * The address that signs in through identity provider `providerId` (open it in the browser,
   * not with fetch); the browser comes back to `returnTo` with `#ssoTicket=…`.
   */
  ssoStartUrl(providerId: string, returnTo: string): string;
  /**
   * Finishes a single sign-on: redeems the ticket in `hash` (default: the page's
   * location.hash) and keeps the tokens. Resolves null when there is no ticket.
   */
  completeSso(hash?: string): Promise<Tokens | null>;
  /**
   * Signs in with a passkey (in a browser: navigator.credentials.get) and keeps the tokens:
   * with `challenge`, the second step of a password sign-in (a SecondFactorRequired whose
   * `factors` include `passkey`); without, a sign-in without a password.
   */
  signInWithPasskey(challenge?: string): Promise<Tokens>;
  /** Registers a new passkey of the signed-in user under `name` (navigator.credentials.create). */
  registerPasskey(name: string): Promise<Passkey>;
  /** Ends the session on the server (when there is one) and forgets the tokens. */
  logout(): Promise<void>;
  /**
   * Exchanges the refresh token for new tokens. Concurrent callers share one request.
   * Rejects (and ends the session) when the server refuses the refresh token.
   */
  refresh(): Promise<Tokens>;
  /** The current tokens, or null when signed out. */
  tokens(): Tokens | null;
}

const AUTH_PATHS = [
  '/api/v1/auth/login',
  '/api/v1/auth/login/totp',
  '/api/v1/auth/login/totp-enrolment',
  '/api/v1/auth/login/passkey/options',
  '/api/v1/auth/login/passkey',
  '/api/v1/auth/sso/redeem',
  '/api/v1/auth/refresh',
];

type RetryConfig = InternalAxiosRequestConfig & { _alumnidRetried?: boolean; _alumnidToken?: string };

function isAuthPath(url: string | undefined): boolean {
  return AUTH_PATHS.some((p) => url?.endsWith(p));
}

/**
 * Creates a client and, unless makeDefault is false, makes it the one generated functions
 * (and TanStack Query options) use.
 */
export function createAlumniClient(config: ClientConfig = {}): AlumniClient {
  const store = config.tokens ?? memoryTokens();
  const instance = axios.create({ baseURL: config.baseURL ?? '' });
  let inflight: Promise<Tokens> | null = null;

  const setTokens = (t: Tokens) => {
    store.set(t);
    config.onTokens?.(t);
  };
  const endSession = () => {
    store.set(null);
    config.onSessionEnd?.();
  };

  instance.interceptors.request.use((req: RetryConfig) => {
    const access = store.get()?.accessToken;
    if (access && !isAuthPath(req.url) && !req.headers.has('Authorization')) {
      req.headers.set('Authorization', `Bearer ${access}`);
      req._alumnidToken = access;
    }
    return req;
  });

  instance.interceptors.response.use(undefined, async (err: unknown) => {
    if (!isAxiosError(err) || err.response?.status !== 401 || !err.config) throw err;
    const req = err.config as RetryConfig;
    // Only requests that carried our token are retried, once; login and refresh never are.
    if (req._alumnidRetried || !req._alumnidToken || isAuthPath(req.url)) throw err;
    const current = store.get();
    if (!current) throw err;
    let access = current.accessToken;
    if (access === req._alumnidToken) {
      // This request's token is the current one: renew it (shared with concurrent 401s).
      try {
        access = (await client.refresh()).accessToken;
      } catch {
        throw err; // the session ended: the caller gets the original 401
      }
    } // else another request refreshed meanwhile: retry with the new token.
    req._alumnidRetried = true;
    req._alumnidToken = access;
    req.headers.set('Authorization', `Bearer ${access}`);
    return instance.request(req);
  });

  const client: AlumniClient = {
    axios: instance,
    async login(email, password) {
      const t = await loginCall({ email, password }, { instance });
      if (isChallenge(t)) throw new SecondFactorRequired(t);
      setTokens(t);
      return t;
    },
    async completeLogin(challenge, answer) {
      const t = await completeLoginCall({ challenge, ...answer }, { instance });
      setTokens(t);
      return t;
    },
    startLoginEnrolment(challenge) {
      return startLoginTotpEnrolment({ challenge }, { instance });
    },
    ssoStartUrl(providerId, returnTo) {
      const base = (config.baseURL ?? '').replace(/\/$/, '');
      return `${base}/api/v1/auth/sso/${encodeURIComponent(providerId)}/start?returnTo=${encodeURIComponent(returnTo)}`;
    },
    async completeSso(hash) {
      const ticket = new URLSearchParams((hash ?? globalThis.location?.hash ?? '').replace(/^#/, '')).get('ssoTicket');
      if (!ticket) return null;
      const t = await redeemSsoTicket({ ticket }, { instance });
      setTokens(t);
      return t;
    },
    async signInWithPasskey(challenge) {
      const options = await startPasskeySignIn(challenge ? { challenge } : {}, { instance });
      const credential = await getCredential(options.publicKey);
      const t = await finishPasskeySignIn({ ceremony: options.ceremony, credential }, { instance });
      setTokens(t);
      return t;
    },
    async registerPasskey(name) {
      const options = await startPasskeyRegistration({ instance });
      const credential = await createCredential(options.publicKey);
      return createPasskey({ ceremony: options.ceremony, name, credential }, { instance });
    },
    async logout() {
      try {
        if (store.get()) await logoutCall({ instance });
      } finally {
        endSession();
      }
    },
    refresh() {
      if (!inflight) {
        const refreshToken = store.get()?.refreshToken;
        inflight = (async () => {
          if (!refreshToken) throw new Error('not signed in');
          try {
            const t = await refreshTokens({ refreshToken }, { instance });
            setTokens(t);
            return t;
          } catch (e) {
            endSession();
            throw e;
          }
        })().finally(() => {
          inflight = null;
        });
      }
      return inflight;
    },
    tokens: () => store.get(),
  };
  if (config.makeDefault ?? true) setDefaultInstance(instance);
  return client;
}
