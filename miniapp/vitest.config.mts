import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// Unit tests without the uni plugin (TOOLCHAIN.md): uni's built-in tags are custom elements here.
const here = path.dirname(fileURLToPath(import.meta.url));
const UNI_TAGS = new Set(['view', 'text', 'button', 'input', 'textarea', 'scroll-view', 'image', 'picker', 'navigator', 'rich-text']);

export default defineConfig({
  plugins: [vue({ template: { compilerOptions: { isCustomElement: (tag) => UNI_TAGS.has(tag) } } })],
  resolve: { alias: { '@': path.join(here, 'src') } },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
  },
});
