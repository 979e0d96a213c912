// Builds once before the suite (tsc to dist/, the CLI bundle to dist/bundle/), so tests run the
// real CLI (bin/minic.js) as users do.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  if (process.env.MINIC_TEST_NO_BUILD) return; // dist/ already built by the caller
  const root = fileURLToPath(new URL("../..", import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, "-p", `${root}/tsconfig.json`], { stdio: "inherit" });
  execFileSync(process.execPath, [`${root}/scripts/bundle.mjs`], { stdio: "inherit" });
}
