// Errors of the API as typed values: every failed call of this package rejects with a
// ProblemError (or its subclass EditConflictError for 412), carrying the problem+json body.
import type { AxiosError } from 'axios';
import { isAxiosError } from 'axios';
import type { FieldError, Problem } from './gen/model';

/** The problem+json body of a failed request (RFC 9457), as the contract defines it. */
export type { FieldError, Problem };

/**
 * A failed request: an HTTP error answer (status >= 400) or a transport failure (status 0:
 * no answer, a refused connection, a download cut short).
 */
export class ProblemError extends Error {
  override readonly name: string = 'ProblemError';
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  /** A URI naming the kind of problem, e.g. https://alumnid.dev/problems/not-found. */
  readonly type: string;
  /** The server's request id, for its logs; from the body or the X-Request-Id header. */
  readonly requestId: string | undefined;
  /** Per-field problems of a validation failure or a conflict (empty otherwise). */
  readonly fieldErrors: readonly FieldError[];
  /** The body as received, when it was problem+json. */
  readonly problem: Problem | undefined;

  constructor(init: {
    status: number;
    title: string;
    detail?: string;
    type?: string;
    requestId?: string;
    fieldErrors?: readonly FieldError[];
    problem?: Problem;
    cause?: unknown;
  }) {
    super(init.detail ? `${init.title}: ${init.detail}` : init.title, { cause: init.cause });
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.type = init.type ?? 'about:blank';
    this.requestId = init.requestId;
    this.fieldErrors = init.fieldErrors ?? [];
    this.problem = init.problem;
  }

  /** The message for one field (`address.country`, `q`, ...), or undefined. */
  fieldError(field: string): string | undefined {
    return this.fieldErrors.find((e) => e.field === field)?.message;
  }
}

/**
 * The record (or settings) changed since the ETag sent in If-Match was read: answer 412.
 * Fetch it again, show the user the new version, and let them reapply their change.
 */
export class EditConflictError extends ProblemError {
  override readonly name: string = 'EditConflictError';
}

export function isProblemError(e: unknown): e is ProblemError {
  return e instanceof ProblemError;
}

export function isEditConflict(e: unknown): e is EditConflictError {
  return e instanceof EditConflictError;
}

/** Whether a value has the required members of a problem body. */
function isProblem(v: unknown): v is Problem {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.title === 'string' && typeof p.status === 'number' && typeof p.type === 'string';
}

/** Reads a body that arrived as a Blob, ArrayBuffer or string as JSON; undefined if it is none. */
async function bodyJSON(data: unknown): Promise<unknown> {
  try {
    if (typeof Blob !== 'undefined' && data instanceof Blob) return JSON.parse(await data.text());
    if (data instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(data));
    if (typeof data === 'string') return JSON.parse(data);
  } catch {
    return undefined;
  }
  return data;
}

/**
 * Turns what an Axios call rejected with into a ProblemError. Errors that are not Axios
 * errors (a bug in a callback) and cancellations are returned unchanged.
 */
export async function toProblemError(err: unknown): Promise<unknown> {
  if (err instanceof ProblemError || !isAxiosError(err) || err.code === 'ERR_CANCELED') return err;
  const ax = err as AxiosError;
  const res = ax.response;
  if (!res) {
    return new ProblemError({ status: 0, title: 'No answer from the server', detail: ax.message, cause: err });
  }
  const body = await bodyJSON(res.data);
  const headerId = res.headers?.['x-request-id'];
  const requestId = typeof headerId === 'string' ? headerId : undefined;
  const Err = res.status === 412 ? EditConflictError : ProblemError;
  if (isProblem(body)) {
    return new Err({
      status: res.status,
      title: body.title,
      detail: body.detail,
      type: body.type,
      requestId: body.requestId || requestId,
      fieldErrors: body.errors ?? [],
      problem: body,
      cause: err,
    });
  }
  return new Err({ status: res.status, title: res.statusText || `HTTP ${res.status}`, requestId, cause: err });
}
