// Entry of minic's V8 startup snapshot for the container commands (dist/snapshot/minic.blob,
// made by scripts/bundle.mjs), which bin/minic starts run, ps, rm and prune from: their code is
// loaded and evaluated while the snapshot is built, so `minic run` begins with it ready instead
// of resolving, reading and evaluating ~30 modules (~20 ms). `build` has a snapshot of its own
// (snapshot-build.ts): carried here, its code made this one ~1.3 MB bigger, and every `minic
// run` ~6-10 ms slower to deserialize it. Nothing here may read the environment, the clock, the
// pid or random bytes at load time (snapshot-main.ts).
import { snapshotMain } from "./snapshot-main.js";
import { pruneCommand } from "./commands/prune.js";
import { psCommand } from "./commands/ps.js";
import { rmCommand } from "./commands/rm.js";
import { runCommand } from "./commands/run.js";
import "./store/store.js"; // opened by every one of them: evaluated now, not per run

// The commands this snapshot carries (bin/minic routes exactly these to it).
snapshotMain({
  run: async () => runCommand,
  ps: async () => psCommand,
  rm: async () => rmCommand,
  prune: async () => pruneCommand,
});
