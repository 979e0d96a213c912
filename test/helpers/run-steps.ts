// Helpers for tests of build run steps run for real: recipes on the runtime fixture's `bb`
// image, the records a build's steps leave in the store, and the processes a step started.
import { execa } from "execa";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN } from "./cli.js";

/** Writes `dir/NAME.ts`, a recipe `name` on the store's `bb` image with `steps` (TypeScript source); returns its path. */
export function writeRecipe(dir: string, name: string, steps: string): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `import { defineRecipe, run, file } from "minic";\nexport default defineRecipe({ name: ${JSON.stringify(name)}, base: "bb", steps: [${steps}] });\n`);
  return file;
}

/** Starts `node bin/minic.js build …` (minic's own pid, output in `all`). */
export function startBuild(args: string[], env: NodeJS.ProcessEnv = {}) {
  return execa(process.execPath, [BIN, "build", ...args], { reject: false, all: true, encoding: "utf8", stdin: "ignore", forceKillAfterDelay: false, env: { ...process.env, ...env } });
}

/** A build with --json: its exit status, its whole output, and the top image's record when it succeeded. */
export async function buildJson(store: string, recipe: string, args: string[] = []) {
  const r = await startBuild([recipe, "--store", store, "--json", ...args]);
  const out = String(r.all ?? "");
  const json = r.exitCode === 0 ? (JSON.parse(out.slice(out.indexOf("{\n"))) as { images: { cached: boolean; layer: { digest: string } | null }[] }) : undefined;
  return { exitCode: r.exitCode, out, top: json?.images.at(-1) };
}

/** A maker of fresh directories `root/PREFIX0`, `root/PREFIX1`, … */
export function freshDirs(root: () => string, prefix: string): () => string {
  let n = 0;
  return () => {
    const d = join(root(), `${prefix}${n++}`);
    mkdirSync(d);
    return d;
  };
}

/** Pids of live processes whose command line contains `marker` (zombies have none). */
export function markerPids(marker: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").includes(marker)) out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** SIGKILLs the given pids (processes this test started), ignoring those already gone. */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

/** The records under `<store>/containers/` now: their cgroups and whether they are build steps. */
export function records(store: string): { id: string; cgroups: string[]; build?: { recipe: string; step: number } }[] {
  const dir = join(store, "containers");
  const out = [];
  for (const id of (() => { try { return readdirSync(dir); } catch { return []; } })()) {
    try {
      const s = JSON.parse(readFileSync(join(dir, id, "state.json"), "utf8")) as { cgroups: string[]; build?: { recipe: string; step: number } };
      out.push({ id, cgroups: s.cgroups, ...(s.build ? { build: s.build } : {}) });
    } catch {
      /* being written or removed */
    }
  }
  return out;
}

/** Polls `records(store)` until stopped; returns every cgroup a record named meanwhile. */
export function watchRecords(store: string, everyMs = 10): { stop(): string[] } {
  const seen = new Set<string>();
  const look = () => {
    for (const r of records(store)) for (const c of r.cgroups) seen.add(c);
  };
  look();
  const timer = setInterval(look, everyMs);
  return {
    stop() {
      clearInterval(timer);
      look();
      return [...seen];
    },
  };
}

/** Host mounts (this test's mount namespace, the host's) at or below `dir`. */
export function hostMountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((mp) => mp === dir || mp.startsWith(`${dir}/`));
}
