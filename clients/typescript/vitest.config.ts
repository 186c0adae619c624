import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests start alumnid processes and create databases: give them time.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The events tests use Node's WebSocket, which Node 20 has only behind this flag.
    execArgv: ['--experimental-websocket'],
  },
});
