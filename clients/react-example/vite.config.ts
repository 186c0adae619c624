import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The page calls the API on its own origin; the dev server and `vite preview` forward /api
// to alumnid (ALUMNID_URL, default http://127.0.0.1:8080, what `task run` serves), WebSocket
// upgrades (the events stream, /api/v1/events) included.
const api = process.env.ALUMNID_URL ?? 'http://127.0.0.1:8080';
const proxy = { '/api': { target: api, changeOrigin: false, ws: true } };

export default defineConfig({
  plugins: [react()],
  // The client package is linked from ../typescript: use this app's single copy of these.
  resolve: { dedupe: ['react', 'react-dom', '@tanstack/react-query', 'axios'] },
  server: { proxy },
  preview: { proxy },
});
