import type { AlumniClient } from '@alumnid/client';
import { useEffect, useState } from 'react';
import { Editor } from './Editor';
import { LiveChanges } from './LiveChanges';
import { Login } from './Login';
import { Search } from './Search';

export function App({ client }: { client: AlumniClient }) {
  const [user, setUser] = useState(() => client.tokens()?.user ?? null);
  const [openId, setOpenId] = useState<string | null>(null);
  useEffect(() => {
    const sync = () => setUser(client.tokens()?.user ?? null);
    window.addEventListener('alumnid:session', sync);
    return () => window.removeEventListener('alumnid:session', sync);
  }, [client]);

  if (!user) return <Login client={client} />;
  return (
    <main>
      <header>
        <h1>Alumni</h1>
        <span>
          {user.email} ({user.role}) <button onClick={() => void client.logout()}>Sign out</button>
        </span>
      </header>
      <div className="columns">
        <Search onOpen={setOpenId} selected={openId} />
        {openId && <Editor key={openId} id={openId} onClose={() => setOpenId(null)} />}
      </div>
      <LiveChanges client={client} />
    </main>
  );
}
