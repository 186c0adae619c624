// The events WebSocket (GET /api/v1/events): authenticates with the client's access token,
// remembers the last event id, resumes with it after a reconnect, renews the token before it
// expires, and reconnects with backoff after abnormal closes.
import type { AlumniClient } from './client';
import type { Event, EventsAuth } from './gen/model';

/** The state of a subscription, for a status line. */
export type EventsStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';

/** The part of the WebSocket API the helper uses (the browser's, Node's, or the ws package's). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface SubscribeOptions {
  /** Every event after authentication, replayed or live (not ready or resync). */
  onEvent: (event: Event) => void;
  /** Events were missed beyond the resume window: reload what is shown. */
  onResync?: () => void;
  onStatus?: (status: EventsStatus) => void;
  /** Resume after this event id (e.g. one kept from an earlier subscription). */
  lastEventId?: string;
  /** The WebSocket class; the global WebSocket by default (Node 20 needs --experimental-websocket). */
  WebSocketImpl?: WebSocketConstructor;
  /** Renew the token this long before it expires (default 60 s). */
  renewBeforeMs?: number;
  /** The first reconnect delay (default 500 ms), doubled per failed try up to maxBackoffMs (default 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

const OPEN = 1;
const POLICY_VIOLATION = 1008;

/** The ws:// or wss:// URL of the events endpoint for a client base URL ('' for the page's origin). */
export function eventsURL(baseURL: string | undefined, pageURL?: string): string {
  const base = baseURL || pageURL || (globalThis as { location?: { href: string } }).location?.href;
  if (!base) throw new Error('eventsURL: no base URL and no page location');
  const u = new URL(base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  // A base URL given by the app may have a path prefix; the page's own URL's path is not one.
  const prefix = baseURL ? u.pathname.replace(/\/+$/, '') : '';
  u.pathname = `${prefix}/api/v1/events`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** The first message on a connection: the token, and the last event id to resume after. */
export function authMessage(token: string, lastEventId?: string): EventsAuth {
  return lastEventId ? { type: 'auth', token, lastEventId } : { type: 'auth', token };
}

/** The reconnect delay after `failures` failed tries: base·2^failures, at most max, with ±20 % jitter. */
export function backoffDelay(failures: number, base = 500, max = 30_000, random = Math.random): number {
  const d = Math.min(max, base * 2 ** Math.min(failures, 20));
  return Math.round(d * (0.8 + 0.4 * random()));
}

/** Milliseconds until a JWT's exp, or undefined when it has none or cannot be read. */
export function msUntilExpiry(token: string, now = Date.now()): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 - now : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Subscribes to the server's change events with the client's session. Returns a function
 * that ends the subscription.
 */
export function subscribeEvents(client: AlumniClient, opts: SubscribeOptions): () => void {
  const WS = opts.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WS) throw new Error('subscribeEvents: no WebSocket (pass WebSocketImpl, or run Node with --experimental-websocket)');
  const url = eventsURL(client.axios.defaults.baseURL);
  const renewBefore = opts.renewBeforeMs ?? 60_000;
  let lastEventId = opts.lastEventId;
  let ws: WebSocketLike | null = null;
  let stopped = false;
  let failures = 0;
  let policyCloses = 0; // 1008s in a row without reaching ready: stop after a refresh did not help
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let renewTimer: ReturnType<typeof setTimeout> | undefined;

  const status = (s: EventsStatus) => opts.onStatus?.(s);
  const stop = () => {
    stopped = true;
    clearTimeout(retryTimer);
    clearTimeout(renewTimer);
    status('closed');
  };

  const scheduleRenewal = (token: string, socket: WebSocketLike) => {
    clearTimeout(renewTimer);
    const left = msUntilExpiry(token);
    if (left === undefined) return;
    renewTimer = setTimeout(
      () => {
        client.refresh().then(
          (t) => {
            if (stopped || ws !== socket || socket.readyState !== OPEN) return;
            socket.send(JSON.stringify(authMessage(t.accessToken)));
            scheduleRenewal(t.accessToken, socket);
          },
          () => undefined, // the session ended: the server closes with 1008 and we stop then
        );
      },
      Math.max(0, left - renewBefore),
    );
  };

  const connect = () => {
    if (stopped) return;
    const token = client.tokens()?.accessToken;
    if (!token) return stop();
    status(failures === 0 && policyCloses === 0 ? 'connecting' : 'reconnecting');
    const socket = new WS(url);
    ws = socket;
    socket.onopen = () => {
      const current = client.tokens()?.accessToken ?? token;
      socket.send(JSON.stringify(authMessage(current, lastEventId)));
      scheduleRenewal(current, socket);
    };
    socket.onmessage = (m) => {
      if (ws !== socket || typeof m.data !== 'string') return;
      let e: Event;
      try {
        e = JSON.parse(m.data) as Event;
      } catch {
        return;
      }
      if (e.type === 'ready') {
        failures = 0;
        policyCloses = 0;
        status('ready');
        return;
      }
      if (e.type === 'resync') {
        opts.onResync?.();
        return;
      }
      if (e.id) lastEventId = e.id;
      opts.onEvent(e);
    };
    socket.onerror = () => undefined; // onclose follows
    socket.onclose = (ev) => {
      if (ws !== socket) return;
      ws = null;
      clearTimeout(renewTimer);
      if (stopped) return;
      if (ev.code === POLICY_VIOLATION) {
        // Token expired, authentication failed or session ended: one refresh, then try again.
        if (++policyCloses > 1) return stop();
        status('reconnecting');
        client.refresh().then(connect, stop);
        return;
      }
      status('reconnecting');
      retryTimer = setTimeout(connect, backoffDelay(failures++, opts.backoffMs, opts.maxBackoffMs));
    };
  };

  connect();
  return () => {
    if (stopped) return;
    const socket = ws;
    ws = null;
    stop();
    if (socket) socket.close(1000, 'unsubscribed');
  };
}
