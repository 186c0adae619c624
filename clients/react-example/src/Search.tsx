import type { AlumnusStatus, ListAlumniParams } from '@alumnid/client';
import { alumniInfiniteQueryOptions, downloadAlumniExport, saveDownload } from '@alumnid/client';
import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { ProblemMessage } from './Problem';

type Filters = Pick<ListAlumniParams, 'q' | 'country' | 'status'>;

/** Drops empty fields, so they are not sent. */
function compact(f: Filters): Filters {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== '' && v !== undefined)) as Filters;
}

export function Search({ onOpen, selected }: { onOpen: (id: string) => void; selected: string | null }) {
  const [filters, setFilters] = useState<Filters>({});
  const list = useInfiniteQuery(alumniInfiniteQueryOptions({ ...filters, limit: 25 }));
  const exportCsv = useMutation({
    mutationFn: () => downloadAlumniExport({ format: 'csv', ...filters }),
    onSuccess: saveDownload,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section className="search">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          setFilters(
            compact({
              q: String(f.get('q') ?? '').trim(),
              country: String(f.get('country') ?? '').trim().toUpperCase(),
              status: (String(f.get('status') ?? '') || undefined) as AlumnusStatus | undefined,
            }),
          );
        }}
      >
        <input name="q" type="search" placeholder="Name, employer, program…" aria-label="Search" />
        <input name="country" placeholder="Country (e.g. DE)" aria-label="Country" maxLength={2} size={6} />
        <select name="status" aria-label="Status" defaultValue="">
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="lost_contact">Lost contact</option>
          <option value="deceased">Deceased</option>
        </select>
        <button type="submit">Search</button>
        <button type="button" onClick={() => exportCsv.mutate()} disabled={exportCsv.isPending}>
          {exportCsv.isPending ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      {exportCsv.isError && <ProblemMessage error={exportCsv.error} />}

      {list.isPending && <p role="status">Loading…</p>}
      {list.isError && <ProblemMessage error={list.error} />}
      {list.isSuccess && rows.length === 0 && <p role="status">No alumni match.</p>}
      <ul className="results" aria-label="Results">
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
      {list.isSuccess && <p className="muted" aria-label="Count">{rows.length} shown</p>}
    </section>
  );
}
