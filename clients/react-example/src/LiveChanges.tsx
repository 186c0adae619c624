import type { AlumniClient, Event, EventsStatus } from '@alumnid/client';
import { getGetAlumnusQueryKey, getListAlumniQueryKey, subscribeEvents } from '@alumnid/client';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

const KEEP = 20;

/**
 * The last changes made by anyone, live from the events WebSocket. Each event marks the
 * affected queries stale: lists refetch; an open record is only marked stale, so a form being
 * edited is not replaced (its save still meets the ETag check).
 */
export function LiveChanges({ client }: { client: AlumniClient }) {
  const queryClient = useQueryClient();
  const [events, setEvents] = useState<Event[]>([]);
  const [status, setStatus] = useState<EventsStatus>('connecting');

  useEffect(
    () =>
      subscribeEvents(client, {
        onStatus: setStatus,
        onEvent: (e) => {
          setEvents((prev) => [e, ...prev].slice(0, KEEP));
          if (e.type.startsWith('alumnus.') || e.type === 'import.completed') {
            void queryClient.invalidateQueries({ queryKey: getListAlumniQueryKey().slice(0, 1) });
          }
          if (e.alumnusId) {
            void queryClient.invalidateQueries({ queryKey: getGetAlumnusQueryKey(e.alumnusId), refetchType: 'none' });
          }
        },
        onResync: () => void queryClient.invalidateQueries(),
      }),
    [client, queryClient],
  );

  return (
    <section className="live" aria-labelledby="live-title">
      <h2 id="live-title">
        Live changes <small className="muted">({status})</small>
      </h2>
      {events.length === 0 ? (
        <p className="muted">No changes yet.</p>
      ) : (
        <ol aria-label="Live changes">
          {events.map((e) => (
            <li key={e.id ?? `${e.type}-${e.occurredAt}`}>
              <strong>{e.type}</strong> {e.alumnusId ?? e.import?.id ?? ''}
              {e.fields?.length ? <span className="muted"> {e.fields.join(', ')}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
