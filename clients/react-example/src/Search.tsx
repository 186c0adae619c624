import type { AlumnusStatus, ListAlumniParams } from '@alumnid/client';
import { alumniInfiniteQueryOptions, downloadAlumniExport, saveDownload } from '@alumnid/client';
import { keepPreviousData, useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { FacetFilter } from './Facets';
import { Facets, statusLabels } from './Facets';
import { ProblemMessage } from './Problem';

type Filters = Pick<ListAlumniParams, 'q' | 'country' | 'status'>;

/** What the form's fields hold, sent or not. */
interface Draft {
  q: string;
  country: string;
  status: AlumnusStatus | '';
}

/** How long typing in the search box pauses before the search runs again. */
const TYPE_AHEAD_MS = 250;

/** Drops empty fields, so they are not sent. */
function compact(f: Filters): Filters {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== '' && v !== undefined)) as Filters;
}

function toFilters(d: Draft): Filters {
  return compact({ q: d.q.trim(), country: d.country.trim().toUpperCase(), status: d.status || undefined });
}

export function Search({ onOpen, selected }: { onOpen: (id: string) => void; selected: string | null }) {
  const [draft, setDraft] = useState<Draft>({ q: '', country: '', status: '' });
  const [filters, setFilters] = useState<Filters>({});
  const typing = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(typing.current), []);
  // While the next search runs, the last results stay (aria-busy) instead of flashing away.
  const list = useInfiniteQuery({ ...alumniInfiniteQueryOptions({ ...filters, limit: 25 }), placeholderData: keepPreviousData });
  const exportCsv = useMutation({
    mutationFn: () => downloadAlumniExport({ format: 'csv', ...filters }),
    onSuccess: saveDownload,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];

  /** Type-ahead: the search words apply once typing pauses; the other filters stay as sent. */
  const typed = (q: string) => {
    setDraft((d) => ({ ...d, q }));
    clearTimeout(typing.current);
    typing.current = setTimeout(() => setFilters((f) => compact({ ...f, q: q.trim() })), TYPE_AHEAD_MS);
  };

  /** A facet value clicked: that filter (in the form too), or none when it was the one in use. */
  const pick = (filter: FacetFilter, value: string | undefined) => {
    const v = value ?? '';
    setDraft((d) => (filter === 'country' ? { ...d, country: v } : { ...d, status: v as Draft['status'] }));
    setFilters((f) => compact(filter === 'country' ? { ...f, country: value } : { ...f, status: value as AlumnusStatus | undefined }));
  };

  return (
    <section className="search">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          clearTimeout(typing.current);
          setFilters(toFilters(draft));
        }}
      >
        <input
          name="q"
          type="search"
          placeholder="Name, employer, program…"
          aria-label="Search"
          value={draft.q}
          onChange={(e) => typed(e.target.value)}
        />
        <input
          name="country"
          placeholder="Country (e.g. DE)"
          aria-label="Country"
          maxLength={2}
          size={6}
          value={draft.country}
          onChange={(e) => setDraft((d) => ({ ...d, country: e.target.value }))}
        />
        <select
          name="status"
          aria-label="Status"
          value={draft.status}
          onChange={(e) => setDraft((d) => ({ ...d, status: e.target.value as Draft['status'] }))}
        >
          <option value="">Any status</option>
          {Object.entries(statusLabels).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <button type="submit">Search</button>
        <button type="button" onClick={() => exportCsv.mutate()} disabled={exportCsv.isPending}>
          {exportCsv.isPending ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      {exportCsv.isError && <ProblemMessage error={exportCsv.error} />}

      <div className="found">
        <div>
          {list.isPending && <p role="status">Loading…</p>}
          {list.isError && <ProblemMessage error={list.error} />}
          {list.isSuccess && rows.length === 0 && <p role="status">No alumni match.</p>}
          <ul className="results" aria-label="Results" aria-busy={list.isPlaceholderData}>
            {rows.map((a) => (
              <li key={a.id} className={a.id === selected ? 'selected' : undefined}>
                <button type="button" className="link" onClick={() => onOpen(a.id)}>
                  {a.lastName}, {a.firstName}
                </button>
                <span className="muted">
                  {' '}
                  {a.degrees[0] ? `${a.degrees[0].program} ’${String(a.degrees[0].graduationYear).slice(2)}` : ''}
                  {a.address?.country ? ` · ${a.address.country}` : ''}
                </span>
              </li>
            ))}
          </ul>
          {list.hasNextPage && (
            <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
              {list.isFetchingNextPage ? 'Loading more…' : 'Load more'}
            </button>
          )}
          {list.isSuccess && (
            <p className="muted" aria-label="Count">
              {rows.length} shown
            </p>
          )}
        </div>
        <Facets params={filters} onPick={pick} />
      </div>
    </section>
  );
}
