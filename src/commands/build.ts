// minic build: type-check and load a recipe, then build it and its bases into the store.
import { accessSync, constants, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseBuildArgs } from "../core/build-args.js";
import { parseDuration } from "../core/duration.js";
import { MinicError } from "../core/errors.js";
import { parseCpus, parseCpuset, parseMemory, parsePids, type Limits } from "../core/limits.js";
import type { StepNetwork } from "../core/recipe.js";
import type { RunControl } from "../core/run-control.js";
import { parseSecretFlag } from "../core/secret-flag.js";
import { formatRef } from "../core/reference.js";
import { buildRecipe, type BuildResult } from "../builder/build-image.js";
import { checkRecipeFile, loadRecipe } from "../builder/load-recipe.js";
import { discardRecipeWorker, warmUpRecipeWorker } from "../builder/recipe-eval.js";
import { typecheckRecipe } from "../builder/typecheck.js";
import { sourceDateEpoch } from "../store/images.js";
import { resolveSecurity } from "../runtime/security-profile.js";
import { makeProgress } from "../util/progress.js";
import { str, tagOption, type Command, type Values } from "./command.js";
import { sweep } from "./sweep.js";

/** Pure: the limits and timeout `minic build`'s flags give every run step. Throws EUSAGE on a bad value. */
export function buildControl(values: Values, hostCpus: number): RunControl {
  const limits: Limits = {};
  const [memory, cpus, cpuset, pids] = [str(values.memory), str(values.cpus), str(values.cpuset), str(values.pids)];
  if (memory !== undefined) limits.memoryBytes = parseMemory(memory);
  if (cpus !== undefined) limits.cpus = parseCpus(cpus, hostCpus);
  if (cpuset !== undefined) limits.cpuset = parseCpuset(cpuset, hostCpus);
  if (pids !== undefined) limits.pids = parsePids(pids);
  const timeout = str(values.timeout);
  return timeout === undefined ? { limits } : { limits, timeoutMs: parseDuration(timeout, "--timeout") };
}

/** Pure: `minic build --network` (host unless given). Throws EUSAGE for another value. */
export function buildNetwork(values: Values): StepNetwork {
  const v = str(values.network) ?? "host";
  if (v !== "host" && v !== "none") throw new MinicError("EUSAGE", `unknown --network '${v}'`, { hint: "use --network host (the default) or --network none" });
  return v;
}

/**
 * `minic build --secret id=ID,src=FILE…`: id → the file's absolute path, each checked to be a
 * readable regular file (never read here). Throws EUSAGE for a bad value or a repeated id,
 * ENOTFOUND for a file that is not there; messages name the file, never its content.
 */
export function buildSecrets(values: Values, cwd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of list(values.secret)) {
    const { id, src } = parseSecretFlag(v);
    if (out.has(id)) throw new MinicError("EUSAGE", `--secret id '${id}' is given twice`, { hint: "give each secret id once" });
    const path = resolve(cwd, src);
    try {
      if (!statSync(path).isFile()) throw new Error("not a file");
      accessSync(path, constants.R_OK);
    } catch {
      throw new MinicError("ENOTFOUND", `secret '${id}': ${src} is not a readable file`, { hint: `give the file that holds the secret: --secret id=${id},src=FILE` });
    }
    out.set(id, path);
  }
  return out;
}

const list = (v: Values[string]) => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);

export const buildCommand: Command = {
  name: "build",
  summary: "build a TypeScript recipe (and its base recipes) into layers and an image",
  usage: "RECIPE.ts [-t NAME[:TAG]] [--no-cache] [--explain] [--json] [--quiet] [--memory 1G] [--cpus 1.5] [--cpuset 0-1] [--pids 512] [--timeout 10m] [--network host|none] [--secret id=ID,src=FILE] [--arg NAME=VALUE] [--privileged] [--cap-add CAP] [--cap-drop CAP]",
  options: {
    memory: { type: "string", short: "m" },
    cpus: { type: "string" },
    cpuset: { type: "string" },
    pids: { type: "string" },
    timeout: { type: "string" },
    network: { type: "string" },
    secret: { type: "string", multiple: true },
    arg: { type: "string", multiple: true },
    tag: { type: "string", short: "t" },
    "no-cache": { type: "boolean" },
    explain: { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean", short: "q" },
    privileged: { type: "boolean" },
    "cap-add": { type: "string", multiple: true },
    "cap-drop": { type: "string", multiple: true },
  },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "build takes one recipe file", { hint: "minic build recipes/hello.ts" });
    const file = positionals[0]!;
    const tag = tagOption(values.tag);
    const control = buildControl(values, availableParallelism());
    const network = buildNetwork(values);
    const secrets = buildSecrets(values, ctx.cwd);
    // Run steps get minic run's default profile; more only when the one building asks for it.
    const args = parseBuildArgs(list(values.arg));
    const security = resolveSecurity({ privileged: values.privileged === true, capAdd: list(values["cap-add"]), capDrop: list(values["cap-drop"]) });
    // The recipe's worker starts first: a thread's start (~15-25 ms of CPU) is the longest part
    // of a no-op build, and overlaps opening the store, the sweep, the type-check and the
    // compile; finally ends it if unused.
    warmUpRecipeWorker();
    let progress: Awaited<ReturnType<typeof makeProgress>> | undefined;
    try {
      const store = await ctx.store();
      // Run steps of a killed build may still be running: stop them before this build sweeps scratch.
      await sweep(store, ctx);
      progress = await makeProgress(ctx.tty, Boolean(values.quiet));
      const path = await checkRecipeFile(resolve(ctx.cwd, file), file);
      const typechecked = await typecheckRecipe(path, store.layout.cacheDir, ctx.cwd);
      const recipe = await loadRecipe(path, join(store.layout.cacheDir, "recipes"), ctx.cwd, args);
      const results = await buildRecipe(store, recipe, {
        noCache: Boolean(values["no-cache"]),
        explain: Boolean(values.explain),
        epoch: sourceDateEpoch(),
        tag,
        progress,
        control,
        now: () => new Date().toISOString(),
        security,
        network,
        secrets,
      });
      await typechecked();
      const top = results[results.length - 1]!;
      for (const r of results) if (!r.tag.tagged) ctx.err(keptNote(r, ctx.cwd));
      if (values.json) {
        ctx.out(JSON.stringify({ images: results.map((r) => ({ ref: formatRef(r.ref), tagged: r.tag.tagged, manifest: r.manifestDigest, layer: r.layer, cached: r.cached })) }, null, 2));
      } else {
        ctx.out(`${formatRef(top.ref)} ${top.manifestDigest}`);
      }
      return 0;
    } finally {
      discardRecipeWorker();
      progress?.stop();
    }
  },
};

/** One line on a base image left untagged: whose image its name holds, and how to name it. */
function keptNote(r: BuildResult, cwd: string): string {
  const name = formatRef(r.ref);
  const file = relative(cwd, r.recipeFile);
  const holder = !r.tag.tagged && r.tag.holder ? `an image built from ${relative(cwd, r.tag.holder)}` : "an image not built from it (imported, loaded, pulled or tagged otherwise)";
  return `minic: note: ${name} is kept: it holds ${holder}; the base built from ${file} is not tagged `
    + `(hint: 'minic build ${file}' gives it the name; 'minic build ${file} -t NAME' another one)`;
}
