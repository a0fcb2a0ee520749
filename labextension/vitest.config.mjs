import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  esbuild: { jsx: 'transform', jsxFactory: 'React.createElement', jsxFragment: 'React.Fragment' },
  resolve: {
    alias: {
      // needs a browser at import time; the unit tests use a stand-in (see the stub's docstring)
      '@jupyterlab/ui-components': fileURLToPath(new URL('./test/stubs/ui-components.tsx', import.meta.url))
    }
  },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node'
  }
});
