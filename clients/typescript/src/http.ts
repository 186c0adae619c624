// The request functions ("mutators") that orval's generated code calls, and the Axios
// instance they use. configureClient (client.ts) sets that instance up.
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import axios from 'axios';
import { ProblemError, toProblemError } from './problem';

/** A response body with the ETag the server sent with it, to send back as If-Match. */
export interface Versioned<T> {
  data: T;
  etag: string;
}

/** A downloaded file. */
export interface Download {
  blob: Blob;
  /** From Content-Disposition (filename* preferred); "download" when there is none. */
  filename: string;
  contentType: string;
}

/** Options of every generated function: any Axios option, and the instance to send with. */
export type RequestOptions = AxiosRequestConfig & {
  /** Sends the request with this instance instead of the default client's. */
  instance?: AxiosInstance;
};

/** What generated functions reject with (orval reads this name from the mutator file). */
export type ErrorType<_Body> = ProblemError;
/** What generated functions take as a request body. */
export type BodyType<Body> = Body;

let defaultInstance: AxiosInstance = axios.create();

/** The instance generated functions use unless given another; see configureClient. */
export function getDefaultInstance(): AxiosInstance {
  return defaultInstance;
}

/** Makes generated functions use this instance by default. */
export function setDefaultInstance(instance: AxiosInstance): void {
  defaultInstance = instance;
}

/**
 * Query strings as the contract writes them: arrays comma-separated (style form, explode
 * false: `columns=firstName,lastName`), dates in ISO 8601, undefined and null left out.
 */
export function serializeParams(params: Record<string, unknown>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) q.append(k, v.join(','));
    else if (v instanceof Date) q.append(k, v.toISOString());
    else q.append(k, String(v));
  }
  return q.toString();
}

function send<T>(config: AxiosRequestConfig, options?: RequestOptions): Promise<AxiosResponse<T>> {
  const { instance, ...rest } = options ?? {};
  const headers = { ...(config.headers as Record<string, string> | undefined), ...(rest.headers as Record<string, string> | undefined) };
  return (instance ?? defaultInstance)
    .request<T>({ paramsSerializer: { serialize: serializeParams }, ...config, ...rest, headers })
    .catch(async (err: unknown) => {
      throw await toProblemError(err);
    });
}

/**
 * Options that make a create (createAlumnus, createImport) safe to retry: send the same key,
 * unchanged, with every retry of one intended change, and the server answers a retry with the
 * first answer instead of doing it again. Make a new key per change, e.g. crypto.randomUUID().
 *
 *   const key = crypto.randomUUID();
 *   const created = await createAlumnus(input, withIdempotencyKey(key, { instance }));
 */
export function withIdempotencyKey(key: string, options: RequestOptions = {}): RequestOptions {
  return { ...options, headers: { ...(options.headers as Record<string, string> | undefined), 'Idempotency-Key': key } };
}

/** The mutator of most operations: resolves to the response body. */
export function request<T>(config: AxiosRequestConfig, options?: RequestOptions): Promise<T> {
  return send<T>(config, options).then((r) => r.data);
}

/** The mutator of operations whose answer has an ETag: resolves to { data, etag }. */
export function versionedRequest<T>(config: AxiosRequestConfig, options?: RequestOptions): Promise<Versioned<T>> {
  return send<T>(config, options).then((r) => ({ data: r.data, etag: String(r.headers['etag'] ?? '') }));
}

/**
 * The mutator of file downloads: the body as a Blob with the file name from
 * Content-Disposition. It uses Axios's fetch adapter, which gives Blobs in browsers and in
 * Node alike.
 */
export function downloadRequest<_T>(config: AxiosRequestConfig, options?: RequestOptions): Promise<Download> {
  return send<Blob>({ ...config, responseType: 'blob', adapter: 'fetch' }, options).then((r) => ({
    blob: r.data,
    filename: filenameFromContentDisposition(String(r.headers['content-disposition'] ?? '')) ?? 'download',
    contentType: String(r.headers['content-type'] ?? 'application/octet-stream'),
  }));
}

/**
 * The file name of a Content-Disposition header (RFC 6266): filename* (RFC 5987, UTF-8)
 * when present, else filename; undefined when neither is there. Path parts are removed.
 */
export function filenameFromContentDisposition(header: string): string | undefined {
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  let name: string | undefined;
  if (star?.[2]) {
    try {
      name = decodeURIComponent(star[2].trim());
    } catch {
      name = undefined;
    }
  }
  if (name === undefined) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
    name = plain?.[1]?.replace(/\\(.)/g, '$1') ?? plain?.[2]?.trim();
  }
  if (!name) return undefined;
  return name.split(/[\\/]/).pop() || undefined;
}
