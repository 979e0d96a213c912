// What each of minic's V8 startup snapshots runs when Node starts from it (src/snapshot.ts for
// run, ps, rm and prune; src/snapshot-build.ts for build): the commands it carries run from the
// snapshot's code, every other one is handed to the ordinary ESM bundle (dist/bundle/entry.js).
//
// What a snapshot's entry evaluates ends up frozen in it: modules on its path must not read the
// environment, the clock, the pid or random bytes at load time (only inside functions).
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startupSnapshot } from "node:v8";
import { commandName, main, type Registry } from "./cli.js";
import { stderr } from "./util/stdio.js";

declare global {
  /** The snapshot bundle's stand-in for `import.meta.url` (set before any command runs). */
  var __minicBundleUrl: string | undefined;
  /** The snapshot bundle's stand-in for `import(PACKAGE)` (scripts/bundle.mjs routes each one here). */
  var __minicImport: ((specifier: string) => Promise<unknown>) | undefined;
}

async function start(root: string, argv: string[], commands: Registry): Promise<number> {
  const entry = pathToFileURL(join(root, "dist", "bundle", "entry.js")).href;
  // Code in a snapshot cannot import() (Node gives it no dynamic-import hook); a module Node
  // loads now can, so a one-line CommonJS helper imports the ESM bundle, and the npm packages
  // the carried commands load on first use (esbuild, fast-glob, ora), for the snapshot's code.
  const importer = createRequire(join(root, "dist", "snapshot", "import.cjs"))("./import.cjs") as (url: string) => Promise<unknown>;
  const name = commandName(argv);
  if (name !== undefined && Object.hasOwn(commands, name)) {
    globalThis.__minicBundleUrl = entry;
    globalThis.__minicImport = importer;
    if (process.env.MINIC_DEBUG) stderr().write(`+ ${name}: started from the startup snapshot\n`);
    return main(argv, commands);
  }
  return ((await importer(entry)) as { run(argv: string[]): Promise<number> }).run(argv);
}

/**
 * While a snapshot is being built (a no-op otherwise): sets its main, which runs `commands`
 * from the snapshot's code and hands any other command to the ESM bundle.
 */
export function snapshotMain(commands: Registry): void {
  if (!startupSnapshot.isBuildingSnapshot()) return;
  // Node loads parseArgs's module on first use; every command uses it: load it into the snapshot.
  parseArgs({ args: [], options: {} });
  startupSnapshot.setDeserializeMainFunction(() => {
    // bin/minic runs `node --snapshot-blob BLOB -- ROOT ARG…` (Node drops the `--`): ROOT is the minic checkout.
    const root = resolve(process.argv[1] ?? ".");
    const argv = process.argv.slice(2);
    process.argv.splice(1, 1, join(root, "bin", "minic"));
    void start(root, argv, commands).then((code) => {
      process.exitCode = code;
      // Once the event loop has drained (nothing of minic's is left to do), exit without Node's
      // teardown of the environment and heap: ~1.5 ms of every run, ps and build. Registered
      // once the command is done, after every listener minic and its packages add while it runs
      // (they run first); one added later would be skipped.
      process.once("exit", () => process.exit());
    });
  });
}
