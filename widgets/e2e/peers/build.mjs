// Bundles the Medplum peer page (medplum.jsx: React, Mantine and
// @medplum/react's QuestionnaireForm) into dist/, offline, with esbuild.
// Run by host/cmd/parcours-bench (`make bench`) after `npm ci`.
import { build } from 'esbuild';

await build({
  entryPoints: ['medplum.jsx'],
  outdir: 'dist',
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'none',
  logLevel: 'warning',
});
