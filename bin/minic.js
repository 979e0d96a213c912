#!/usr/bin/env node
// Node entry of the CLI (bin/minic, the launcher, starts it when there is no usable startup
// snapshot). The bundled CLI lives in dist/bundle/ (npm run build).
let cli;
try {
  cli = await import("../dist/bundle/entry.js");
} catch (e) {
  if (e?.code !== "ERR_MODULE_NOT_FOUND" || !String(e.message).includes("dist/bundle/entry.js")) throw e;
  process.stderr.write("minic: the CLI is not built (dist/bundle/entry.js is missing) (hint: run 'npm ci && npm run build' in the minic checkout)\n");
  process.exit(1);
}
process.exitCode = await cli.run(process.argv.slice(2));
