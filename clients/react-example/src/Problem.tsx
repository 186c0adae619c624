import { isProblemError } from '@alumnid/client';

/** Shows what went wrong: the problem's title, detail, field errors and request id. */
export function ProblemMessage({ error }: { error: unknown }) {
  if (!isProblemError(error)) return <p role="alert" className="error">{String(error)}</p>;
  return (
    <div role="alert" className="error">
      <strong>{error.title}</strong>
      {error.detail && <span> — {error.detail}</span>}
      {error.fieldErrors.length > 0 && (
        <ul>
          {error.fieldErrors.map((f) => (
            <li key={f.field}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
      {error.requestId && <small> (request {error.requestId})</small>}
    </div>
  );
}
