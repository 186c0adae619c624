import type { AlumniClient } from '@alumnid/client';
import { deletePasskey, getListPasskeysQueryKey, getListPasskeysQueryOptions } from '@alumnid/client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ProblemMessage } from './Problem';

/**
 * The signed-in user's passkeys: register one (the browser asks the authenticator), see when
 * each was last used and whether one was refused as a possible copy, delete one.
 */
export function Passkeys({ client }: { client: AlumniClient }) {
  const queryClient = useQueryClient();
  const list = useQuery(getListPasskeysQueryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: getListPasskeysQueryKey() });
  const register = useMutation({ mutationFn: (name: string) => client.registerPasskey(name), onSuccess: refresh });
  const remove = useMutation({ mutationFn: (id: string) => deletePasskey(id), onSuccess: refresh });

  return (
    <section className="passkeys" aria-label="Passkeys">
      <h2>Passkeys</h2>
      <ul aria-label="Your passkeys">
        {list.data?.items.map((p) => (
          <li key={p.id}>
            {p.name} — added {new Date(p.createdAt).toLocaleDateString()}
            {p.lastUsedAt ? `, last used ${new Date(p.lastUsedAt).toLocaleString()}` : ', never used'}
            {p.cloneWarning && <strong> (a sign-in with a copy of it was refused)</strong>}{' '}
            <button onClick={() => remove.mutate(p.id)} aria-label={`Delete ${p.name}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p>No passkeys yet.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          register.mutate(String(new FormData(e.currentTarget).get('name')));
        }}
      >
        <label>
          Passkey name <input name="name" defaultValue="This device" maxLength={100} required />
        </label>
        <button type="submit" disabled={register.isPending}>
          {register.isPending ? 'Waiting for the authenticator…' : 'Add a passkey'}
        </button>
      </form>
      {list.isError && <ProblemMessage error={list.error} />}
      {register.isError && <ProblemMessage error={register.error} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
    </section>
  );
}
