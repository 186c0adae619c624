import type { AlumniClient } from '@alumnid/client';
import { useEffect, useState } from 'react';
import { Editor } from './Editor';
import { LiveChanges } from './LiveChanges';
import { Login } from './Login';
import { Passkeys } from './Passkeys';
import { Search } from './Search';

export function App({ client }: { client: AlumniClient }) {
  const [user, setUser] = useState(() => client.tokens()?.user ?? null);
  const [openId, setOpenId] = useState<string | null>(null);
  // Recovery codes of a second factor set up at sign-in: shown once, until dismissed.
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  useEffect(() => {
    const sync = () => setUser(client.tokens()?.user ?? null);
    window.addEventListener('alumnid:session', sync);
    return () => window.removeEventListener('alumnid:session', sync);
  }, [client]);

  if (!user) return <Login client={client} onRecoveryCodes={setRecoveryCodes} />;
  return (
    <main>
      <header>
        <h1>Alumni</h1>
        <span>
          {user.email} ({user.role}) <button onClick={() => void client.logout()}>Sign out</button>
        </span>
      </header>
      {recoveryCodes && (
        <section className="recovery" aria-label="Recovery codes">
          <h2>Your recovery codes</h2>
          <p>Each signs you in once if you lose your authenticator app. Keep them somewhere safe: they are not shown again.</p>
          <ul>
            {recoveryCodes.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
          <button onClick={() => setRecoveryCodes(null)}>I have kept them</button>
        </section>
      )}
      <div className="columns">
        <Search onOpen={setOpenId} selected={openId} />
        {openId && <Editor key={openId} id={openId} onClose={() => setOpenId(null)} />}
      </div>
      <LiveChanges client={client} />
      <Passkeys client={client} />
    </main>
  );
}
