import { defineConfig } from 'vitest/config';

export default defineConfig({
  // As in vite.config.ts: the linked client package uses this folder's axios and React Query.
  resolve: { dedupe: ['react', 'react-dom', '@tanstack/react-query', 'axios'] },
  test: {
    include: ['e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
