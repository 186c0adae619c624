// The events WebSocket through subscribeEvents against a real alumnid: a change made through
// the client arrives as an event, a new subscription resumes after the last event id, and a
// 1008 close for an expired token is followed by a refresh and a reconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlumnus, createAlumniClient, memoryTokens, subscribeEvents } from '../src';
import type { AlumniClient, Event, EventsStatus } from '../src';
import { startAlumnid } from './alumnid';
import type { Alumnid } from './alumnid';
import { expiredCopy } from './tokens';

let server: Alumnid;
let client: AlumniClient;

beforeAll(async () => {
  server = await startAlumnid({ alumni: 20 });
  client = createAlumniClient({ baseURL: server.url, makeDefault: false });
  await client.login(server.admin.email, server.admin.password);
});

afterAll(async () => {
  await server?.stop();
});

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${server.log.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function subscribe(lastEventId?: string) {
  const events: Event[] = [];
  const statuses: EventsStatus[] = [];
  let readyAt = -1;
  const stop = subscribeEvents(client, {
    lastEventId,
    onEvent: (e) => events.push(e),
    onStatus: (s) => {
      statuses.push(s);
      if (s === 'ready' && readyAt < 0) readyAt = events.length;
    },
  });
  return { events, statuses, stop, readyAt: () => readyAt };
}

const person = (lastName: string) => ({ firstName: 'Ada', lastName, address: { city: 'London', country: 'GB' } });

describe('events WebSocket against a real server', () => {
  it('receives alumnus.created for a record created through the client', async () => {
    const sub = subscribe();
    try {
      await until('ready', () => sub.readyAt() >= 0);
      const created = await createAlumnus(person('Lovelace'), { instance: client.axios });
      await until('alumnus.created', () => sub.events.some((e) => e.type === 'alumnus.created' && e.alumnusId === created.data.id));
      const e = sub.events.find((x) => x.alumnusId === created.data.id)!;
      expect(e.id).toBeTruthy();
      expect(e.occurredAt).toBeTruthy();
    } finally {
      sub.stop();
    }
    expect(sub.statuses.at(-1)).toBe('closed');
  });

  it('resumes with lastEventId: what happened while disconnected arrives, and nothing twice', async () => {
    const first = subscribe();
    await until('ready', () => first.readyAt() >= 0);
    const before = await createAlumnus(person('Byron'), { instance: client.axios });
    await until('first event', () => first.events.some((e) => e.alumnusId === before.data.id));
    const last = first.events.at(-1)!.id!;
    first.stop();

    const missed = await createAlumnus(person('King'), { instance: client.axios });
    const second = subscribe(last);
    try {
      // Replayed before ready, or (when the server's reader had not reached it yet) live after.
      await until('the missed event', () => second.events.some((e) => e.alumnusId === missed.data.id));
      await until('ready', () => second.readyAt() >= 0);
      expect(second.events.filter((e) => e.alumnusId === missed.data.id).map((e) => e.type)).toEqual(['alumnus.created']);
      expect(second.events.some((e) => e.alumnusId === before.data.id)).toBe(false); // nothing twice
    } finally {
      second.stop();
    }
  });

  it('refreshes and reconnects when the server closes with 1008 for an expired token', async () => {
    const store = memoryTokens();
    const other = createAlumniClient({ baseURL: server.url, tokens: store, makeDefault: false });
    const t = await other.login(server.staff.email, server.staff.password);
    store.set({ ...t, accessToken: await expiredCopy(t.accessToken, server.keyFile) });
    const events: Event[] = [];
    const statuses: EventsStatus[] = [];
    const stop = subscribeEvents(other, { onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s) });
    try {
      await until('ready after a refresh', () => statuses.includes('ready'));
      expect(statuses).toContain('reconnecting');
      expect(other.tokens()!.accessToken).not.toBe(t.accessToken);
      const created = await createAlumnus(person('Somerville'), { instance: client.axios });
      await until('the event', () => events.some((e) => e.alumnusId === created.data.id));
    } finally {
      stop();
    }
  });
});
