import { createAlumniClient, sessionStorageTokens } from '@alumnid/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './style.css';

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } },
});

// One client for the page: same-origin API (the dev server proxies /api), tokens kept for
// the tab's life, and a refreshed token shared by concurrent requests.
export const client = createAlumniClient({
  baseURL: '',
  tokens: sessionStorageTokens(),
  onSessionEnd: () => {
    queryClient.clear();
    window.dispatchEvent(new Event('alumnid:session'));
  },
  onTokens: () => window.dispatchEvent(new Event('alumnid:session')),
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App client={client} />
    </QueryClientProvider>
  </StrictMode>,
);
