// Entry of minic's V8 startup snapshot for `minic build` (dist/snapshot/build.blob, made by
// scripts/bundle.mjs): the build command's code (recipe loading, cache, builder, store) is
// loaded and evaluated while the snapshot is built, so that a no-op build begins with it ready
// instead of resolving, reading and evaluating ~60 modules of the ESM bundle (~40 ms of CPU).
// Nothing here may read the environment, the clock, the pid or random bytes at load time
// (snapshot-main.ts).
import { snapshotMain } from "./snapshot-main.js";
import { buildCommand } from "./commands/build.js";
import "./store/store.js";

// The commands this snapshot carries (bin/minic routes exactly these to it).
snapshotMain({
  build: async () => buildCommand,
});
