// minic inspect: an image's layers (diff id, digest, size, which recipe made each) and config.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { formatOption, printFormatted, type Command } from "./command.js";
import { MinicError } from "../core/errors.js";
import { OCI_EXTRA_FIELDS } from "../core/image.js";
import { formatRef } from "../core/reference.js";
import { parseCacheRecord } from "../core/cache-record.js";
import type { Store } from "../store/store.js";
import { listContainers, supervisorAlive } from "../runtime/state.js";
import { humanSize } from "../core/size-text.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show an image's layers and config",
  usage: "IMAGE [--json | -f|--format TEMPLATE]",
  options: { json: { type: "boolean" }, format: { type: "string", short: "f" } },
  async run(values, positionals, ctx) {
    if (positionals.length !== 1) throw new MinicError("EUSAGE", "inspect takes one image", { hint: "minic inspect hello" });
    const format = formatOption(values, { "config.workingdir": "config.workdir", repotags: "names", digest: "manifest" });
    const store = await ctx.store({ create: false });
    const img = await store.getImage(positionals[0]!).catch((e: unknown) => {
      throw e instanceof MinicError && e.code === "ENOTFOUND" ? (containerNamed(store, positionals[0]!) ?? e) : e;
    });
    const files = await recipeFiles(store);
    const history = img.config.history.filter((h) => !h.empty);
    const layers = img.manifest.layers.map((l, i) => {
      const createdBy = history[i]?.createdBy ?? "?";
      // Two recipes may make the same layer: the file is that of the recipe the history names.
      const made = files.get(l.diffId) ?? [];
      const recipeFile = made.find((m) => createdBy === `minic build ${m.name}`)?.file;
      return { ...l, createdBy, recipeFile };
    });
    // Every name of the image, the one asked for first (by digest, the image still has its names).
    const names = [...new Set([...(img.ref ? [formatRef(img.ref)] : []), ...(await store.namesOf(img.manifestDigest)).map(formatRef)])];
    const out = { id: img.manifestDigest.slice(7), ref: names[0], names, manifest: img.manifestDigest, config: img.config.config, os: "linux", architecture: img.config.architecture, created: img.config.created, layers };
    if (values.json) {
      ctx.out(JSON.stringify(out, null, 2));
      return 0;
    }
    if (format) {
      printFormatted(ctx, format, out);
      return 0;
    }
    ctx.out(`image     ${names.length ? names.join(", ") : "(untagged)"}`);
    ctx.out(`manifest  ${out.manifest}`);
    ctx.out(`platform  linux/${out.architecture}`);
    ctx.out(`layers    ${layers.length}`);
    layers.forEach((l, i) => {
      ctx.out(`  [${i}] diff id ${l.diffId}`);
      ctx.out(`      digest  ${l.digest}  ${humanSize(l.size)}`);
      ctx.out(`      made by ${l.createdBy}${l.recipeFile ? ` (${l.recipeFile})` : ""}`);
    });
    const c = img.config.config;
    if (c.entrypoint.length) ctx.out(`entrypoint ${JSON.stringify(c.entrypoint)}`);
    ctx.out(`cmd       ${JSON.stringify(c.cmd)}`);
    ctx.out(`env       ${c.env.join(" ")}`);
    ctx.out(`workdir   ${c.workdir}   user ${c.user}${c.hostname ? `   hostname ${c.hostname}` : ""}`);
    if (Object.keys(c.limits).length) ctx.out(`limits    ${JSON.stringify(c.limits)}`);
    if (Object.keys(c.labels).length) ctx.out(`labels    ${JSON.stringify(c.labels)}`);
    for (const k of OCI_EXTRA_FIELDS) if (c.oci?.[k] !== undefined) ctx.out(`${k.padEnd(9)} ${JSON.stringify(c.oci[k])}`);
    return 0;
  },
};

/** A running container named or IDed `spec`, as the error for an inspect of it (minic inspects images only). */
function containerNamed(store: Store, spec: string): MinicError | undefined {
  const c = listContainers(store.layout.containersDir).find((x) => x.state && supervisorAlive(x.state) && (x.state.name === spec || x.id === spec));
  if (!c?.state) return undefined;
  return new MinicError("ENOTFOUND", `'${spec}' is a running container, not an image`, {
    hint: `'minic ps --json' shows the container; 'minic inspect ${c.state.image}' the image it runs`,
  });
}

/** diff id → the recipes (name, file) whose last build made it, from the build cache's records (local knowledge, not part of the image). */
async function recipeFiles(store: Store): Promise<Map<string, { name: string; file: string }[]>> {
  const out = new Map<string, { name: string; file: string }[]>();
  const dir = join(store.layout.cacheDir, "last");
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    const rec = parseCacheRecord(await readFile(join(dir, f), "utf8").catch(() => ""));
    if (rec?.layer) out.set(rec.layer.diffId, [...(out.get(rec.layer.diffId) ?? []), rec.recipe]); // a damaged record tells nothing
  }
  return out;
}
