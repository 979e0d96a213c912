// Checks a store from the outside, with no minic code: every reference's manifest, config and
// layer blobs must be present and hash to their digests. What the race tests run after each trial.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Problems of one blob: missing, or bytes that do not hash to its digest. */
function blobProblem(root: string, digest: string, what: string): string | undefined {
  const p = join(root, "blobs/sha256", String(digest).slice(7));
  if (!existsSync(p)) return `${what} ${digest} is missing`;
  if (`sha256:${hex(readFileSync(p))}` !== digest) return `${what} ${digest} does not match its digest`;
  return undefined;
}

/** Every name in the store (`name:tag`), read from refs/ (so also when minic cannot list a broken store). */
export function storeNames(root: string): string[] {
  const refs = join(root, "refs");
  const out: string[] = [];
  for (const name of existsSync(refs) ? readdirSync(refs) : []) {
    if (name.startsWith(".")) continue;
    for (const tag of readdirSync(join(refs, name))) if (!tag.startsWith(".")) out.push(`${decodeURIComponent(name)}:${tag}`);
  }
  return out.sort();
}

/** Every problem of the store at `root` (an empty list when it is whole). */
export function storeProblems(root: string): string[] {
  const out: string[] = [];
  const refs = join(root, "refs");
  for (const name of existsSync(refs) ? readdirSync(refs) : []) {
    if (name.startsWith(".")) continue;
    for (const tag of readdirSync(join(refs, name))) {
      if (tag.startsWith(".")) continue;
      const at = `${decodeURIComponent(name)}:${tag}`;
      const manifest = readFileSync(join(refs, name, tag), "utf8").trim();
      const bad = blobProblem(root, manifest, `${at}: manifest`);
      if (bad) {
        out.push(bad);
        continue;
      }
      const m = JSON.parse(readFileSync(join(root, "blobs/sha256", manifest.slice(7)), "utf8")) as { config: { digest: string }; layers: { digest: string }[] };
      for (const [d, what] of [[m.config.digest, "config"], ...m.layers.map((l, i) => [l.digest, `layer ${i + 1}`])] as [string, string][]) {
        const p = blobProblem(root, d, `${at}: ${what}`);
        if (p) out.push(p);
      }
    }
  }
  return out;
}

/** The store's lease and gc files (none may be left once no minic runs on it). */
export function leaseFiles(root: string): string[] {
  const d = join(root, "leases");
  return existsSync(d) ? readdirSync(d).sort() : [];
}
