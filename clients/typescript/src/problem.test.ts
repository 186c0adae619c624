import { AxiosError, AxiosHeaders } from 'axios';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { describe, expect, it } from 'vitest';
import { EditConflictError, ProblemError, toProblemError } from './problem';

const config = { headers: new AxiosHeaders() } as InternalAxiosRequestConfig;

function axiosError(status: number, data: unknown, headers: Record<string, string> = {}): AxiosError {
  const response = { status, statusText: 'Status', data, headers, config } as AxiosResponse;
  return new AxiosError('Request failed', 'ERR_BAD_REQUEST', config, {}, response);
}

const problem = {
  type: 'https://alumnid.dev/problems/validation',
  title: 'Invalid request',
  status: 400,
  detail: 'The request does not match the contract.',
  requestId: 'req-1',
  errors: [{ field: 'lastName', message: 'is required' }],
};

describe('toProblemError', () => {
  it('carries the problem body', async () => {
    const e = await toProblemError(axiosError(400, problem));
    expect(e).toBeInstanceOf(ProblemError);
    expect(e).not.toBeInstanceOf(EditConflictError);
    const p = e as ProblemError;
    expect([p.status, p.title, p.detail, p.type, p.requestId]).toEqual([400, problem.title, problem.detail, problem.type, 'req-1']);
    expect(p.fieldErrors).toEqual(problem.errors);
    expect(p.fieldError('lastName')).toBe('is required');
    expect(p.fieldError('firstName')).toBeUndefined();
    expect(p.problem).toEqual(problem);
  });

  it('makes 412 an EditConflictError', async () => {
    const e = await toProblemError(axiosError(412, { ...problem, status: 412, title: 'Precondition failed', errors: undefined }));
    expect(e).toBeInstanceOf(EditConflictError);
    expect((e as EditConflictError).fieldErrors).toEqual([]);
  });

  it('reads a problem that arrived as a Blob (downloads)', async () => {
    const blob = new Blob([JSON.stringify({ ...problem, status: 403, title: 'Forbidden' })], { type: 'application/problem+json' });
    const e = (await toProblemError(axiosError(403, blob))) as ProblemError;
    expect([e.status, e.title, e.requestId]).toEqual([403, 'Forbidden', 'req-1']);
  });

  it('keeps the status and request id of an answer that is not a problem', async () => {
    const e = (await toProblemError(axiosError(502, '<html>bad gateway</html>', { 'x-request-id': 'req-2' }))) as ProblemError;
    expect([e.status, e.title, e.requestId, e.problem]).toEqual([502, 'Status', 'req-2', undefined]);
  });

  it('gives status 0 when no answer came', async () => {
    const e = (await toProblemError(new AxiosError('connect ECONNREFUSED', 'ECONNREFUSED', config))) as ProblemError;
    expect(e).toBeInstanceOf(ProblemError);
    expect(e.status).toBe(0);
  });

  it('leaves other errors alone', async () => {
    const bug = new TypeError('x is undefined');
    expect(await toProblemError(bug)).toBe(bug);
    const cancel = new AxiosError('canceled', 'ERR_CANCELED', config);
    expect(await toProblemError(cancel)).toBe(cancel);
  });
});
