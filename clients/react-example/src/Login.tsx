import type { AlumniClient } from '@alumnid/client';
import { useMutation } from '@tanstack/react-query';
import { ProblemMessage } from './Problem';

export function Login({ client }: { client: AlumniClient }) {
  const login = useMutation({
    mutationFn: ({ email, password }: { email: string; password: string }) => client.login(email, password),
  });
  return (
    <main className="login">
      <h1>Sign in</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          login.mutate({ email: String(f.get('email')), password: String(f.get('password')) });
        }}
      >
        <label>
          Email <input name="email" type="email" autoComplete="username" required />
        </label>
        <label>
          Password <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {login.isError && <ProblemMessage error={login.error} />}
    </main>
  );
}
