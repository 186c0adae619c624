// Optimistic concurrency: edits send the ETag they were based on as If-Match; the server
// answers 412 (an EditConflictError) when someone changed the record first.
import type { QueryClient } from '@tanstack/react-query';
import { getGetAlumnusQueryKey, getListAlumniQueryKey, updateAlumnus } from './gen/endpoints/alumni/alumni';
import type { Alumnus, AlumnusPatch } from './gen/model';
import type { RequestOptions, Versioned } from './http';
import { EditConflictError } from './problem';

/** The If-Match header for an ETag. */
export function ifMatch(etag: string): { 'If-Match': string } {
  return { 'If-Match': etag };
}

/**
 * Applies a merge patch to the version of the record the caller holds. Rejects with an
 * EditConflictError when the record changed since (the caller should fetch it again).
 */
export function updateAlumnusIfMatch(current: Versioned<Alumnus>, patch: AlumnusPatch, request?: RequestOptions): Promise<Versioned<Alumnus>> {
  return updateAlumnus(current.data.id, patch, ifMatch(current.etag), request);
}

export interface UpdateAlumnusVariables {
  current: Versioned<Alumnus>;
  patch: AlumnusPatch;
}

/**
 * Mutation options for editing a record held with its ETag: on success the record's query
 * (getGetAlumnusQueryOptions) gets the new version and lists are refetched; on a conflict
 * the record's query is refetched so the page shows what the other person saved.
 */
export function updateAlumnusMutationOptions(queryClient: QueryClient, request?: RequestOptions) {
  return {
    mutationKey: ['updateAlumnus', 'ifMatch'] as const,
    mutationFn: ({ current, patch }: UpdateAlumnusVariables) => updateAlumnusIfMatch(current, patch, request),
    onSuccess: (updated: Versioned<Alumnus>) => {
      queryClient.setQueryData(getGetAlumnusQueryKey(updated.data.id), updated);
      return queryClient.invalidateQueries({ queryKey: getListAlumniQueryKey().slice(0, 1) });
    },
    onError: (error: unknown, { current }: UpdateAlumnusVariables) => {
      if (error instanceof EditConflictError) {
        return queryClient.invalidateQueries({ queryKey: getGetAlumnusQueryKey(current.data.id) });
      }
      return undefined;
    },
  };
}
