// Entry of minic's V8 startup snapshot (dist/snapshot/minic.blob, made by scripts/bundle.mjs),
// which bin/minic starts Node from. The commands that must start fast (run, a no-op build and
// the container commands) are loaded and evaluated while the snapshot is built, so `minic run`
// and `minic build` begin with their code ready instead of resolving, reading and evaluating
// ~30-60 modules (~20-50 ms of CPU). Every other command is handed to the ordinary ESM bundle
// (dist/bundle/entry.js) unchanged.
//
// What is evaluated here ends up frozen in the snapshot: modules on this path must not read the
// environment, the clock, the pid or random bytes at load time (only inside functions).
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startupSnapshot } from "node:v8";
import { commandName, main, type Registry } from "./cli.js";
import { stderr } from "./util/stdio.js";
import { buildCommand } from "./commands/build.js";
import { pruneCommand } from "./commands/prune.js";
import { psCommand } from "./commands/ps.js";
import { rmCommand } from "./commands/rm.js";
import { runCommand } from "./commands/run.js";
import "./store/store.js"; // opened by every one of them: evaluated now, not per run

declare global {
  /** The snapshot bundle's stand-in for `import.meta.url` (set before any command runs). */
  var __minicBundleUrl: string | undefined;
  /** The snapshot bundle's stand-in for `import(PACKAGE)` (scripts/bundle.mjs routes each one here). */
  var __minicImport: ((specifier: string) => Promise<unknown>) | undefined;
}

/** The commands the snapshot carries (not exported: the snapshot script has no `module`). */
const SNAPSHOT_COMMANDS: Registry = {
  run: async () => runCommand,
  build: async () => buildCommand,
  ps: async () => psCommand,
  rm: async () => rmCommand,
  prune: async () => pruneCommand,
};

async function start(root: string, argv: string[]): Promise<number> {
  const entry = pathToFileURL(join(root, "dist", "bundle", "entry.js")).href;
  // Code in a snapshot cannot import() (Node gives it no dynamic-import hook); a module Node
  // loads now can, so a one-line CommonJS helper imports the ESM bundle, and the npm packages
  // the carried commands load on first use (esbuild, fast-glob, ora), for the snapshot's code.
  const importer = createRequire(join(root, "dist", "snapshot", "import.cjs"))("./import.cjs") as (url: string) => Promise<unknown>;
  const name = commandName(argv);
  if (name !== undefined && Object.hasOwn(SNAPSHOT_COMMANDS, name)) {
    globalThis.__minicBundleUrl = entry;
    globalThis.__minicImport = importer;
    if (process.env.MINIC_DEBUG) stderr().write(`+ ${name}: started from the startup snapshot\n`);
    return main(argv, SNAPSHOT_COMMANDS);
  }
  return ((await importer(entry)) as { run(argv: string[]): Promise<number> }).run(argv);
}

if (startupSnapshot.isBuildingSnapshot()) {
  // Node loads parseArgs's module on first use; every command uses it: load it into the snapshot.
  parseArgs({ args: [], options: {} });
  startupSnapshot.setDeserializeMainFunction(() => {
    // bin/minic runs `node --snapshot-blob BLOB ROOT ARG…`: ROOT is the minic checkout.
    const root = resolve(process.argv[1] ?? ".");
    const argv = process.argv.slice(2);
    process.argv.splice(1, 1, join(root, "bin", "minic"));
    void start(root, argv).then((code) => {
      process.exitCode = code;
    });
  });
}
