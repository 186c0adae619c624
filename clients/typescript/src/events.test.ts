import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlumniClient } from './client';
import { authMessage, backoffDelay, eventsURL, msUntilExpiry, subscribeEvents } from './events';
import type { WebSocketLike } from './events';
import type { Event, Tokens } from './gen/model';

describe('eventsURL', () => {
  it('maps http to ws and https to wss, keeping a path prefix', () => {
    expect(eventsURL('http://127.0.0.1:8080')).toBe('ws://127.0.0.1:8080/api/v1/events');
    expect(eventsURL('https://alumni.example.edu/')).toBe('wss://alumni.example.edu/api/v1/events');
    expect(eventsURL('https://example.edu/alumni/')).toBe('wss://example.edu/alumni/api/v1/events');
  });
  it("uses the page's origin for an empty base URL, not its path", () => {
    expect(eventsURL('', 'https://app.example.edu/people/42?x=1#y')).toBe('wss://app.example.edu/api/v1/events');
    expect(eventsURL(undefined, 'http://localhost:4173/')).toBe('ws://localhost:4173/api/v1/events');
  });
});

describe('helpers', () => {
  it('puts lastEventId in the auth message only when there is one', () => {
    expect(authMessage('t')).toEqual({ type: 'auth', token: 't' });
    expect(authMessage('t', '42')).toEqual({ type: 'auth', token: 't', lastEventId: '42' });
  });
  it('backs off exponentially up to the maximum', () => {
    const mid = () => 0.5;
    expect(backoffDelay(0, 500, 30_000, mid)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, mid)).toBe(4000);
    expect(backoffDelay(30, 500, 30_000, mid)).toBe(30_000);
  });
  it('reads a JWT expiry', () => {
    const payload = btoa(JSON.stringify({ exp: 1000 })).replace(/=+$/, '');
    expect(msUntilExpiry(`h.${payload}.s`, 400_000)).toBe(600_000);
    expect(msUntilExpiry('not a jwt')).toBeUndefined();
  });
});

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(e: Event) {
    this.onmessage?.({ data: JSON.stringify(e) });
  }
  auth() {
    return JSON.parse(this.sent[0]!) as Record<string, string>;
  }
}

function fakeClient(): AlumniClient & { n: number } {
  const c = {
    n: 0,
    axios: { defaults: { baseURL: 'http://api.test' } },
    tokens: () => ({ accessToken: `token-${c.n}` }) as Tokens,
    refresh: vi.fn(async () => {
      c.n++;
      return c.tokens();
    }),
  };
  return c as unknown as AlumniClient & { n: number };
}

describe('subscribeEvents', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('authenticates, delivers events, and resumes after the last id on reconnect', async () => {
    const got: Event[] = [];
    const statuses: string[] = [];
    const stop = subscribeEvents(fakeClient(), {
      onEvent: (e) => got.push(e),
      onStatus: (s) => statuses.push(s),
      WebSocketImpl: FakeSocket,
      lastEventId: '7',
    });
    const first = FakeSocket.all[0]!;
    expect(first.url).toBe('ws://api.test/api/v1/events');
    first.open();
    expect(first.auth()).toEqual({ type: 'auth', token: 'token-0', lastEventId: '7' });
    first.receive({ id: '8', type: 'alumnus.created', alumnusId: 'a1' });
    first.receive({ type: 'ready' });
    first.receive({ id: '9', type: 'alumnus.updated', alumnusId: 'a1', fields: ['email'] });
    expect(got.map((e) => e.id)).toEqual(['8', '9']);

    first.close(1006, '');
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1000);
    const second = FakeSocket.all[1]!;
    second.open();
    expect(second.auth()).toEqual({ type: 'auth', token: 'token-0', lastEventId: '9' });
    stop();
    expect(second.readyState).toBe(3);
    expect(statuses).toEqual(['connecting', 'ready', 'reconnecting', 'reconnecting', 'closed']);
  });

  it('refreshes the token and reconnects at once after 1008 token expired', async () => {
    const client = fakeClient();
    const stop = subscribeEvents(client, { onEvent: () => undefined, WebSocketImpl: FakeSocket });
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.receive({ type: 'ready' });
    FakeSocket.all[0]!.close(1008, 'token expired');
    await vi.advanceTimersByTimeAsync(0);
    expect(client.refresh).toHaveBeenCalledOnce();
    FakeSocket.all[1]!.open();
    expect(FakeSocket.all[1]!.auth().token).toBe('token-1');
    stop();
  });

  it('stops when a refresh did not help', async () => {
    const statuses: string[] = [];
    subscribeEvents(fakeClient(), { onEvent: () => undefined, onStatus: (s) => statuses.push(s), WebSocketImpl: FakeSocket });
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.close(1008, 'authentication failed');
    await vi.advanceTimersByTimeAsync(0);
    FakeSocket.all[1]!.open();
    FakeSocket.all[1]!.close(1008, 'authentication failed');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(statuses.at(-1)).toBe('closed');
  });

  it('calls onResync and not onEvent for resync', () => {
    const onEvent = vi.fn();
    const onResync = vi.fn();
    const stop = subscribeEvents(fakeClient(), { onEvent, onResync, WebSocketImpl: FakeSocket, lastEventId: '1' });
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.receive({ type: 'resync' });
    expect(onResync).toHaveBeenCalledOnce();
    expect(onEvent).not.toHaveBeenCalled();
    stop();
  });
});

describe('token renewal', () => {
  beforeEach(() => {
    FakeSocket.all = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('refreshes a minute before expiry and sends the new token on the open socket', async () => {
    const jwt = (n: number) => `h.${btoa(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 300, n })).replace(/=+$/, '')}.s`;
    let n = 0;
    const client = {
      axios: { defaults: { baseURL: 'https://api.test' } },
      tokens: () => ({ accessToken: jwt(n) }) as Tokens,
      refresh: vi.fn(async () => ({ accessToken: jwt(++n) }) as Tokens),
    } as unknown as AlumniClient;
    const stop = subscribeEvents(client, { onEvent: () => undefined, WebSocketImpl: FakeSocket });
    const socket = FakeSocket.all[0]!;
    expect(socket.url).toBe('wss://api.test/api/v1/events');
    socket.open();
    socket.receive({ type: 'ready' });
    await vi.advanceTimersByTimeAsync(230_000);
    expect(client.refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(client.refresh).toHaveBeenCalledOnce();
    expect(socket.sent).toHaveLength(2);
    const renewed = JSON.parse(socket.sent[1]!) as { type: string; token: string };
    expect(renewed.type).toBe('auth');
    expect(renewed.token).toBe(((await vi.mocked(client.refresh).mock.results[0]!.value) as Tokens).accessToken);
    expect(FakeSocket.all).toHaveLength(1); // renewed in place, no reconnect
    stop();
  });
});
