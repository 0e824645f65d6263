// vite.config.mjs: the page from Vite, the routes from nitrous (`cargo nitrous dev` beside `vite`).
import { defineConfig } from 'vite';

const target = process.env.NITROUS_TARGET ?? 'http://127.0.0.1:3000';

export default defineConfig({
  server: {
    proxy: {
      // HTTP routes and event streams (an event stream passes through as it is written).
      '/api': { target },
      // WebSocket routes. Not `changeOrigin: true`: it would send nitrous the target's Host while
      // the browser's Origin names Vite, and nitrous refuses an upgrade whose Origin is not the
      // Host it was sent to (403). Without it the browser's Host goes through, and they agree.
      '/ws': { target, ws: true },
      // The chat page loads nitrous-client from the app; a page that imports it from npm, bundled
      // by Vite, needs no such line.
      '/nitrous-client': { target },
    },
    // Rust route files under Vite's root are nitrous's: on their edits `cargo nitrous dev` swaps
    // the app and the page's socket reconnects; Vite has nothing to reload.
    watch: { ignored: ['**/server/**'] },
  },
});
