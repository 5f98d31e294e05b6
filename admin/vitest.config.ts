import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit tests of the console's pure modules and stores (R3.1 tree ↔ graph conversion and friends).
// Vitest brings its own Vite; .vue files are not imported by these tests, so no Vue plugin here.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
});
