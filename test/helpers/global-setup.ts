// Builds once before the suite (tsc to dist/, the CLI bundle to dist/bundle/), so tests run the
// real CLI (bin/minic.js) as users do. Afterwards removes the host directories the suite's runs
// made that were not there before (`ip netns add` makes /run/netns, a bind mount of itself;
// runc, which podman runs in the peer tests, makes /run/runc), so that the next run sees the
// host as it was: a host left with them hides what a fresh host lacks.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MADE_BY_RUNS = ["/run/netns", "/run/runc"];

export default function setup(): () => void {
  const before = new Set(MADE_BY_RUNS.filter((d) => existsSync(d)));
  if (!process.env.MINIC_TEST_NO_BUILD) {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", `${root}/tsconfig.json`], { stdio: "inherit" });
    execFileSync(process.execPath, [`${root}/scripts/bundle.mjs`], { stdio: "inherit" });
  }
  return () => {
    for (const d of MADE_BY_RUNS) {
      if (before.has(d) || !existsSync(d) || readdirSync(d).length > 0) continue;
      try {
        execFileSync("umount", [d], { stdio: "ignore" });
      } catch {
        /* not a mount point */
      }
      try {
        rmdirSync(d);
      } catch {
        /* in use again, or not empty */
      }
    }
  };
}
