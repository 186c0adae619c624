import { InfiniteQueryObserver, QueryClient } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import { cursorInfiniteQueryOptions, nextPageParam } from './pagination';

describe('nextPageParam', () => {
  it('is the next cursor, and undefined on the last page', () => {
    expect(nextPageParam({ nextCursor: 'abc' })).toBe('abc');
    expect(nextPageParam({ nextCursor: null })).toBeUndefined();
    expect(nextPageParam({})).toBeUndefined();
  });
});

describe('cursorInfiniteQueryOptions', () => {
  it('walks the pages by cursor until nextCursor is null', async () => {
    const pages: Record<string, { items: number[]; nextCursor: string | null }> = {
      first: { items: [1, 2], nextCursor: 'c2' },
      c2: { items: [3, 4], nextCursor: 'c3' },
      c3: { items: [5], nextCursor: null },
    };
    const asked: (string | undefined)[] = [];
    const options = cursorInfiniteQueryOptions(['numbers'] as const, async (cursor) => {
      asked.push(cursor);
      return pages[cursor ?? 'first']!;
    });
    const client = new QueryClient();
    const observer = new InfiniteQueryObserver(client, options);
    await observer.refetch();
    let result = observer.getCurrentResult();
    while (result.hasNextPage) result = await observer.fetchNextPage();
    expect(asked).toEqual([undefined, 'c2', 'c3']);
    expect(result.data?.pages.flatMap((p) => p.items)).toEqual([1, 2, 3, 4, 5]);
    client.clear();
  });
});
