// Cursor pagination as TanStack Query infinite queries: each page's nextCursor is the next
// page's cursor; null ends the list.
import { infiniteQueryOptions } from '@tanstack/react-query';
import { getListAlumniQueryKey, listAlumni } from './gen/endpoints/alumni/alumni';
import type { AlumnusPage, ListAlumniParams } from './gen/model';
import type { RequestOptions } from './http';

/** Any list answer of the API: items and the cursor of the next page (null on the last). */
export interface CursorPage {
  nextCursor?: string | null;
}

/** The next page's cursor of a page, undefined on the last page (what TanStack expects). */
export function nextPageParam(page: CursorPage): string | undefined {
  return page.nextCursor ?? undefined;
}

/**
 * Infinite-query options for any cursor-paginated list: fetchPage gets the cursor (undefined
 * for the first page) and the abort signal.
 */
export function cursorInfiniteQueryOptions<TPage extends CursorPage, TKey extends readonly unknown[]>(
  queryKey: TKey,
  fetchPage: (cursor: string | undefined, signal: AbortSignal) => Promise<TPage>,
) {
  return infiniteQueryOptions({
    queryKey,
    queryFn: ({ pageParam, signal }) => fetchPage(pageParam, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: nextPageParam,
  });
}

/** The alumni list (GET /api/v1/alumni) with these filters, one page after another. */
export function alumniInfiniteQueryOptions(params: Omit<ListAlumniParams, 'cursor'> = {}, request?: RequestOptions) {
  return cursorInfiniteQueryOptions([...getListAlumniQueryKey(params), 'infinite'] as const, (cursor, signal): Promise<AlumnusPage> =>
    listAlumni(cursor === undefined ? params : { ...params, cursor }, request, signal),
  );
}
