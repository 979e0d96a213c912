// minic info: this minic (version, where it is installed, node, startup snapshot) and the store
// it uses, with why; reads only, creates nothing.
import { join } from "node:path";
import { listCacheMounts } from "../builder/cache-mounts.js";
import { StoreLayout } from "../store/layout.js";
import { readStoreStatus, storeFindings } from "../store/store-status.js";
import { checkoutRoot, installRoot, minicVersion } from "../util/install.js";
import { startupSnapshotState } from "../util/startup-snapshot.js";
import { findProgram } from "../util/which.js";
import type { Command } from "./command.js";
import { humanSize } from "../core/size-text.js";

export const infoCommand: Command = {
  name: "info",
  noArgs: true,
  summary: "show this minic's version and install, and which store it uses and why",
  usage: "[--json]",
  options: { json: { type: "boolean" } },
  async run(values, _positionals, ctx) {
    const loc = ctx.storeLocation();
    const status = readStoreStatus(loc, ctx.cwd);
    const root = installRoot();
    const node = findProgram("node") ?? process.execPath;
    const info = {
      version: minicVersion(root),
      install: { root, kind: checkoutRoot(root) ? "checkout" : "package" },
      node: { path: node, version: process.version },
      snapshot: startupSnapshotState(join(root, "dist", "snapshot"), node),
      store: { root: loc.root, source: loc.source, why: loc.why, exists: status.exists, mode: status.mode?.toString(8).padStart(4, "0"), owner: status.owner, filesystem: status.fsType },
      // Run steps' cache mounts (gc keeps them; 'minic gc --cache-mounts' removes them).
      cacheMounts: status.exists && !status.notDir ? listCacheMounts(new StoreLayout(loc.root).cacheMountsDir).map(({ recipe, path, bytes }) => ({ recipe, path, bytes })) : [],
    };
    if (values.json) {
      ctx.out(JSON.stringify(info, null, 2));
      return 0;
    }
    ctx.out(`minic ${info.version}, ${info.install.kind === "checkout" ? "running from its checkout" : "installed package"} at ${root}`);
    ctx.out(`node ${info.node.version} (${node}); startup snapshot: ${info.snapshot}`);
    for (const f of storeFindings(loc, status)) ctx.out(f.level === "ok" ? f.text : `${f.level}: ${f.text}`);
    for (const m of info.cacheMounts) ctx.out(`cache mount of recipe '${m.recipe}' at ${m.path}: ${humanSize(m.bytes)}`);
    return 0;
  },
};
