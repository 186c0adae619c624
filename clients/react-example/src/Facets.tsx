import type { AlumnusStatus, FacetBucket, Facets as FacetCounts, GetAlumniFacetsParams, Total } from '@alumnid/client';
import { getGetAlumniFacetsQueryOptions } from '@alumnid/client';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useState } from 'react';
import { ProblemMessage } from './Problem';

/** The filters a facet value sets when clicked. */
export type FacetFilter = 'country' | 'status';

export const statusLabels: Record<AlumnusStatus, string> = {
  active: 'Active',
  lost_contact: 'Lost contact',
  deceased: 'Deceased',
};

// The groups in the order shown. `list` names each list for assistive technology (and the
// browser test); `filter` makes its values buttons that narrow the search.
const groups: { key: Exclude<keyof FacetCounts, 'total'>; title: string; list: string; filter?: FacetFilter }[] = [
  { key: 'graduationYear', title: 'Graduation year', list: 'Graduation years' },
  { key: 'country', title: 'Country', list: 'Countries', filter: 'country' },
  { key: 'program', title: 'Program', list: 'Programs' },
  { key: 'industry', title: 'Industry', list: 'Industries' },
  { key: 'status', title: 'Status', list: 'Statuses', filter: 'status' },
];

/** Values shown of a group before "Show all". */
const SHOWN = 8;

/** "1 match", "1,234 matches", "10,000+ matches" (the server stops counting at 10,000). */
export function formatTotal(t: Total): string {
  const n = t.count.toLocaleString('en-US');
  if (!t.exact) return `${n}+ matches`;
  return `${n} ${t.count === 1 ? 'match' : 'matches'}`;
}

/**
 * The total and counts by value of the search (GET /api/v1/alumni/facets with the list's
 * filters). A country or status value narrows the search to it; the value in use un-narrows.
 */
export function Facets({
  params,
  onPick,
}: {
  params: GetAlumniFacetsParams;
  onPick: (filter: FacetFilter, value: string | undefined) => void;
}) {
  // The last counts stay on screen while the next search's are on their way (type-ahead).
  const facets = useQuery({ ...getGetAlumniFacetsQueryOptions(params), placeholderData: keepPreviousData });
  const data = facets.data;

  return (
    <aside className="facets" aria-labelledby="facets-title" aria-busy={facets.isFetching}>
      <h2 id="facets-title">Refine</h2>
      {facets.isPending && <p className="muted">Counting…</p>}
      {facets.isError && <ProblemMessage error={facets.error} />}
      {data && (
        <>
          <p className="total" aria-label="Total">
            {formatTotal(data.total)}
          </p>
          {groups.map((g) => {
            const buckets = data[g.key];
            if (!buckets?.length) return null;
            const active = g.filter ? params[g.filter] : undefined;
            return (
              <FacetGroup key={g.key} title={g.title} list={g.list} buckets={buckets}>
                {(b) =>
                  g.filter ? (
                    <button
                      type="button"
                      className="link"
                      aria-pressed={b.value === active}
                      onClick={() => onPick(g.filter!, b.value === active ? undefined : b.value)}
                    >
                      {label(g.filter, b.value)}
                    </button>
                  ) : (
                    <span>{b.value}</span>
                  )
                }
              </FacetGroup>
            );
          })}
        </>
      )}
    </aside>
  );
}

function label(filter: FacetFilter, value: string): string {
  return filter === 'status' ? (statusLabels[value as AlumnusStatus] ?? value) : value;
}

function FacetGroup({
  title,
  list,
  buckets,
  children,
}: {
  title: string;
  list: string;
  buckets: FacetBucket[];
  children: (b: FacetBucket) => ReactNode;
}) {
  const [all, setAll] = useState(false);
  const shown = all ? buckets : buckets.slice(0, SHOWN);
  return (
    <>
      <h3>{title}</h3>
      <ul aria-label={list}>
        {shown.map((b) => (
          <li key={b.value}>
            {children(b)} <span className="count">{b.count.toLocaleString('en-US')}</span>
          </li>
        ))}
      </ul>
      {buckets.length > SHOWN && (
        <button type="button" className="link more" onClick={() => setAll(!all)} aria-expanded={all}>
          {all ? 'Show fewer' : `Show all ${buckets.length}`}
        </button>
      )}
    </>
  );
}
