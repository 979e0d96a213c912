// Fuzzing the input minic takes from outside: minic, OCI and docker tarballs (load) and cpio and
// tar rootfs archives (import), mutated byte by byte, in their JSON documents and in their layers'
// members, with every digest made to match again so that a mutant reaches the code past the
// digest checks. Every input must be taken or refused with one line, exit 1 (2 for usage): a
// crash (exit 70, a JS error, a raw errno message), a hang, or a write outside the store fails the
// test; so does an image that load or import took but `minic run` or `minic export` cannot unpack.
// A fixed seed and a time budget (MINIC_FUZZ_SECONDS, default 40; MINIC_FUZZ_SEED): the trials
// are the same on every machine, a faster machine runs more of them. Failing inputs are kept in
// a directory the report names.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { getentElf } from "../../src/runtime/getent-elf.js";
import { LAUNCHER, minicOk, tempDir } from "../helpers/cli.js";
import { cpioMembers, imageLayout, ociConfig, rawTar, remakeMinicLayer, resealMinic, type RawMember } from "../helpers/image-archive.js";
import { rawArchive, S, type RawMember as CpioMember } from "../helpers/raw-cpio.js";
import { hostLeaks, lockHost } from "./fixtures.js";

const SECONDS = Number(process.env.MINIC_FUZZ_SECONDS ?? 40);
const SEED = Number(process.env.MINIC_FUZZ_SEED ?? 20261201);

const t = tempDir("minic-fuzz-");
const work = join(t.path, "work");
const outside = join(t.path, "outside");
let unlock: (() => void) | undefined;
let leaksBefore = new Set<string>();

/** mulberry32: a small seeded PRNG, so that trial N is the same mutant everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rng, n: number) => Math.floor(r() * n);

// ---------- seeds ----------

const TRUE = getentElf(process.arch, { passwd: "ok\n", initgroups: "ok\n" }) ?? Buffer.from("#!/bin/sh\n");
const dirT = (name: string): RawMember => ({ name, type: "5", mode: 0o755 });
const fileT = (name: string, data: string | Buffer, mode = 0o644): RawMember => ({ name, data: Buffer.from(data), mode });

function layer1(): RawMember[] {
  return [
    dirT("usr/"), dirT("usr/bin/"), dirT("etc/"), dirT("bin/"), dirT("data/"), dirT("data/sub/"),
    fileT("etc/os-release", "ID=fuzz\n"), fileT("bin/true", TRUE, 0o755), { name: "bin/sh", type: "2", linkname: "true" },
    fileT("data/a.txt", "alpha\n".repeat(40)), { name: "data/hard", type: "1", linkname: "data/a.txt" },
    fileT("data/sub/b", "beta\n"), fileT("data/big", Buffer.alloc(9000, 7)),
    // Symlinks out of the tree: minic must never write through them.
    { name: "data/out-abs", type: "2", linkname: outside }, { name: "data/out-rel", type: "2", linkname: "../../../../../../../../outside" },
  ];
}

function layer2(): RawMember[] {
  return [dirT("data/"), fileT("data/.wh.sub", ""), fileT("data/new.txt", "new\n"), dirT("etc/"), fileT("etc/motd", "hi\n"), dirT("data/opq/"), fileT("data/opq/.wh..wh..opq", "")];
}

interface Seeds {
  oci: Buffer;
  docker: Buffer;
  minic: Buffer;
  cpio: Buffer;
  tar: Buffer;
}
const seeds = {} as Seeds;

// ---------- mutations ----------

const NAMES = [
  "../escape", "/abs/path", "a/../../escape", "n".repeat(300), Array.from({ length: 18 }, () => "d".repeat(220)).join("/"), "x\u0000y",
  ".wh.", ".wh..wh..opq", ".wh..wh.bad", "data/.wh.a.txt", "data/a.txt/below", "", "./", ".", "TRAILER!!!", "data/out-abs/pwned",
  "data/out-rel/pwned", "bin/true/x", "data/../../../outside/pwned", "ünïcödé/名前", "data//double", "bin",
];
const TAR_TYPES = ["0", "1", "2", "3", "4", "5", "6", "7", "g", "x", "L", "K", "S", "V", "\0", "Z"];
const LINKS = [outside, `${outside}/pwned`, "../../../../outside", "/etc/passwd", "data/a.txt", "nonexistent", "", "l".repeat(5000), "bin/true", "data"];

/** A random JSON value of a random kind, for replacing one member of a document. */
function junk(r: Rng): unknown {
  switch (int(r, 12)) {
    case 0: return null;
    case 1: return int(r, 2) ? -1 : 2 ** 53;
    case 2: return "x".repeat(int(r, 3) ? 3 : 100_000);
    case 3: return [];
    case 4: return {};
    case 5: return [null, 1, "a"];
    case 6: return true;
    case 7: return `sha256:${"0".repeat(64)}`;
    case 8: return "linux";
    case 9: return { "": { "": [] } };
    case 10: return 1.5;
    default: return "../../../etc/passwd";
  }
}

/** Replaces (or deletes, or adds) one member somewhere in a JSON document. */
function mutateJson(r: Rng, doc: unknown): unknown {
  const v = structuredClone(doc) as Record<string, unknown>;
  const paths: (string | number)[][] = [];
  const walk = (x: unknown, p: (string | number)[]) => {
    paths.push(p);
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...p, i]));
    else if (x && typeof x === "object") for (const [k, y] of Object.entries(x)) walk(y, [...p, k]);
  };
  walk(v, []);
  const path = pick(r, paths);
  if (path.length === 0) return junk(r);
  let parent: Record<string | number, unknown> = v;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const op = int(r, 6);
  if (op === 0 && !Array.isArray(parent)) delete parent[key];
  else if (op === 1 && Array.isArray(parent[key])) (parent[key] as unknown[]).push(junk(r));
  else if (op === 2 && parent[key] && typeof parent[key] === "object") (parent[key] as Record<string, unknown>)[pick(r, ["Cmd", "Env", "size", "digest", "mediaType", "os", "diff_ids", "layers"])] = junk(r);
  else parent[key] = junk(r);
  return v;
}

/** One member of a tar member list changed, added, duplicated, dropped or moved. */
function mutateTarMembers(r: Rng, ms: RawMember[]): RawMember[] {
  const out = ms.map((m) => ({ ...m }));
  const n = 1 + int(r, 3);
  for (let k = 0; k < n; k++) {
    const i = int(r, out.length);
    const m = out[i]!;
    switch (int(r, 10)) {
      case 0: m.name = pick(r, NAMES); break;
      case 1: m.type = pick(r, TAR_TYPES); break;
      case 2: m.linkname = pick(r, LINKS); if (int(r, 2)) m.type = pick(r, ["1", "2"]); break;
      case 3: m.size = pick(r, [0, 1, 511, 512, 513, 100_000, (m.data?.length ?? 0) + 1]); break;
      case 4: m.mode = pick(r, [0, 0o7777, 0o4755, 0o2755, 0o170644, 0o1000]); break;
      case 5: m.uid = pick(r, [0, 65534, 2 ** 21 - 1]); m.gid = pick(r, [0, 2 ** 21 - 1]); break;
      case 6: out.push({ ...m }); break;
      case 7: out.splice(i, 1); break;
      case 8: out.splice(int(r, out.length), 0, out.splice(i, 1)[0]!); break;
      default: out.push({ name: "data/esc", type: "2", linkname: pick(r, LINKS) }, fileT("data/esc/pwned", "x"));
    }
    if (out.length === 0) out.push(fileT("x", "x"));
  }
  return out;
}

/** The same for cpio members (modes carry the file type here). */
function mutateCpioMembers(r: Rng, ms: CpioMember[]): CpioMember[] {
  const out = ms.map((m) => ({ ...m }));
  const n = 1 + int(r, 3);
  for (let k = 0; k < n; k++) {
    const i = int(r, out.length);
    const m = out[i]!;
    switch (int(r, 9)) {
      case 0: m.name = pick(r, NAMES); break;
      case 1: m.mode = pick(r, [S.file | 0o644, S.dir | 0o755, S.symlink | 0o777, S.chr | 0o600, S.blk | 0o600, S.fifo | 0o600, 0o140644, 0o170644, 0]); break;
      case 2: m.filesize = pick(r, [0, 1, 3, 1 << 20, (Buffer.from(m.data ?? "").length) + 5]); break;
      case 3: m.nlink = pick(r, [0, 2, 3, 1000]); m.ino = pick(r, [1, 2, 3]); break;
      case 4: m.data = pick(r, [outside, "../../../outside/x", "", "y".repeat(5000)]); m.mode = S.symlink | 0o777; break;
      case 5: out.push({ ...m }); break;
      case 6: out.splice(i, 1); break;
      case 7: m.magic = pick(r, ["070702", "070707", "07070x"]); break;
      default: out.push({ name: "data/esc", mode: S.symlink | 0o777, data: outside }, { name: "data/esc/pwned", mode: S.file | 0o644, data: "x" });
    }
    if (out.length === 0) out.push({ name: "x", mode: S.file | 0o644, data: "x" });
  }
  return out;
}

/** Raw damage: bits flipped, a cut, bytes inserted or removed, a block repeated. */
function mutateBytes(r: Rng, b: Buffer): Buffer {
  const x = Buffer.from(b);
  switch (int(r, 5)) {
    case 0: for (let k = 1 + int(r, 8); k > 0; k--) x[int(r, x.length)]! ^= 1 << int(r, 8); return x;
    case 1: return x.subarray(0, int(r, x.length));
    case 2: { const at = int(r, x.length); return Buffer.concat([x.subarray(0, at), Buffer.alloc(1 + int(r, 600), int(r, 256)), x.subarray(at)]); }
    case 3: { const at = int(r, x.length); return Buffer.concat([x.subarray(0, at), x.subarray(at + 1 + int(r, 600))]); }
    default: { const at = int(r, x.length >> 9) << 9; return Buffer.concat([x.subarray(0, at + 512), x.subarray(at, at + 512), x.subarray(at + 512)]); }
  }
}

const bunzip = (b: Buffer) => execFileSync("bzip2", ["-dc"], { input: b, maxBuffer: 1 << 28 });
const bzip = (b: Buffer) => execFileSync("bzip2", ["-9c"], { input: b, maxBuffer: 1 << 28 });

interface Mutant {
  what: string;
  argv: (input: string, store: string) => string[];
  bytes: Buffer;
}

const load = (input: string, store: string) => ["load", "--store", store, input];
const importing = (input: string, store: string) => ["import", "--store", store, input, "-t", "fuzz:imported"];

/** The next mutant: the kind of input and the kind of mutation are drawn too. */
function mutant(r: Rng): Mutant {
  const l1 = layer1();
  const l2 = layer2();
  switch (int(r, 11)) {
    case 0: return { what: "bytes of an OCI tarball", argv: load, bytes: mutateBytes(r, seeds.oci) };
    case 1: return { what: "bytes of a docker-archive", argv: load, bytes: mutateBytes(r, seeds.docker) };
    case 2: return { what: "bytes of a minic tarball", argv: load, bytes: mutateBytes(r, seeds.minic) };
    case 3: {
      const doc = pick(r, ["config", "manifest", "index", "docker"] as const);
      const format = doc === "docker" ? "docker" : pick(r, ["oci", "both"] as const);
      const fmt = (x: unknown) => (doc === "index" ? mutateJson(r, x) : x);
      return {
        what: `OCI/docker ${doc} document (digests fixed)`, argv: load,
        bytes: imageLayout({
          layers: [rawTar(l1), rawTar(l2)], format,
          config: doc === "config" ? mutateJson(r, ociConfig([rawTar(l1), rawTar(l2)])) : undefined,
          manifest: doc === "manifest" ? (d) => mutateJson(r, { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", ...d }) : undefined,
          index: doc === "index" ? (m) => fmt({ schemaVersion: 2, manifests: [m] }) : undefined,
          dockerManifest: doc === "docker" ? (p) => mutateJson(r, [{ Config: p.config, RepoTags: ["localhost/fuzz:1"], Layers: p.layers }]) : undefined,
        }),
      };
    }
    case 4:
    case 5: {
      const which = int(r, 2);
      const layers = [l1, l2].map((l, i) => rawTar(i === which ? mutateTarMembers(r, l) : l));
      return { what: `members of OCI layer ${which + 1} (diff ids fixed)`, argv: load, bytes: imageLayout({ layers, format: pick(r, ["oci", "docker", "both"] as const), plainLayers: int(r, 2) === 0 }) };
    }
    case 6: {
      const doc = pick(r, ["manifest", "config"] as const);
      return { what: `minic ${doc} document (digests fixed)`, argv: load, bytes: resealMinic(seeds.minic, doc === "config" ? { config: (c) => mutateJson(r, c) } : { manifest: (m) => mutateJson(r, m) }) };
    }
    case 7: return { what: "members of a minic cpio layer (diff ids fixed)", argv: load, bytes: remakeMinicLayer(seeds.minic, (ms) => mutateCpioMembers(r, ms)) };
    case 8: {
      const cpio = rawArchive(mutateCpioMembers(r, cpioMembers(seeds.cpio)));
      const wrap = pick(r, ["plain", "bzip2", "gzip"] as const);
      return { what: `members of a cpio rootfs (${wrap})`, argv: importing, bytes: wrap === "plain" ? cpio : wrap === "gzip" ? gzipSync(cpio) : bzip(cpio) };
    }
    case 9: return { what: "members of a tar rootfs", argv: importing, bytes: rawTar(mutateTarMembers(r, l1)) };
    default: return { what: `bytes of a ${pick(r, ["cpio", "tar"])} rootfs`, argv: importing, bytes: mutateBytes(r, int(r, 2) ? seeds.cpio : seeds.tar) };
  }
}

// ---------- the oracle ----------

interface Outcome {
  exitCode: number | undefined;
  stderr: string;
  timedOut: boolean;
  signal?: string;
}

async function minicRun(argv: string[], timeout: number): Promise<Outcome> {
  const r = await execa(LAUNCHER, argv, { reject: false, timeout, stdin: "ignore", cwd: work, encoding: "utf8" });
  return { exitCode: r.exitCode, stderr: String(r.stderr ?? ""), timedOut: Boolean(r.timedOut), signal: r.signal ?? undefined };
}

/**
 * Why this outcome is a crash, or undefined: exit 0/1/2, and a failure is one `minic:` line with
 * no JS error or raw errno in it. A container (`run`) may exit as it likes and print what it
 * likes; only minic's own lines count there.
 */
function crash(o: Outcome, container = false): string | undefined {
  if (o.timedOut) return "hang (timed out)";
  if (o.signal) return `killed by ${o.signal}`;
  if (o.exitCode === undefined || (!container && o.exitCode > 2) || o.exitCode === 70 || o.exitCode === 13) return `exit ${o.exitCode}`;
  if (container) return /^minic: .*(TypeError|RangeError|ReferenceError|E[A-Z]+: )/m.test(o.stderr) ? "a JavaScript error or raw errno message" : undefined;
  if (/\b(TypeError|RangeError|ReferenceError|SyntaxError|AssertionError)\b|\n\s+at .*:\d+:\d+\)?$|Cannot read propert|is not (a function|iterable)|internal error/m.test(o.stderr)) return "a JavaScript error";
  if (/^minic: E[A-Z]+: /m.test(o.stderr)) return "a raw errno message";
  if (o.exitCode !== 0 && !/^minic: /m.test(o.stderr)) return "a failure without a minic: line";
  return undefined;
}

/** Run-time refusals that say an accepted image cannot be unpacked or read (a bug of intake). */
const NOT_UNPACKABLE = /refusing|EARCHIVE|does not match its digest|unpacks to diff id|malformed|corrupt|not a minic manifest|ENAMETOOLONG|name too long|cannot read (tar|cpio)/;

interface Tally {
  trials: number;
  taken: number;
  refused: number;
  usage: number;
  ran: number;
  byKind: Record<string, number>;
  failures: string[];
}

describe("fuzzed input", () => {
  beforeAll(async () => {
    unlock = await lockHost();
    leaksBefore = new Set(hostLeaks());
    mkdirSync(work);
    mkdirSync(outside);
    const l1 = rawTar(layer1());
    const l2 = rawTar(layer2());
    seeds.oci = imageLayout({ layers: [l1, l2], format: "both" });
    seeds.docker = imageLayout({ layers: [l1, l2], format: "docker", plainLayers: true });
    seeds.tar = l1;
    const s = join(t.path, "seed-store");
    writeFileSync(join(t.path, "seed.tar"), seeds.oci);
    await minicOk(["load", join(t.path, "seed.tar"), "--store", s]);
    await minicOk(["save", "localhost/fuzz:1", "-o", join(t.path, "seed-minic.tar"), "--store", s]);
    seeds.minic = readFileSync(join(t.path, "seed-minic.tar"));
    await minicOk(["export", "localhost/fuzz:1", "-o", join(t.path, "seed.cpio.bz2"), "--store", s]);
    seeds.cpio = bunzip(readFileSync(join(t.path, "seed.cpio.bz2")));
    // The seeds themselves are taken and run.
    const r = await minicRun(["run", "--net", "none", "--store", s, "localhost/fuzz:1", "--", "/bin/true", "passwd"], 60_000);
    expect(r, r.stderr).toMatchObject({ exitCode: 0, timedOut: false });
  }, 180_000);

  afterAll(() => {
    t.remove();
    unlock?.();
  });

  it(`takes or refuses every mutant with one line, never crashing, hanging or writing outside the store (seed ${SEED}, ${SECONDS} s)`, async () => {
    const r = prng(SEED);
    const tally: Tally = { trials: 0, taken: 0, refused: 0, usage: 0, ran: 0, byKind: {}, failures: [] };
    let kept: string | undefined;
    const keep = (n: number, m: Mutant, why: string, o: Outcome) => {
      kept ??= mkdtempSync(join(tmpdir(), "minic-fuzz-failures-"));
      writeFileSync(join(kept, `trial-${n}.bin`), m.bytes);
      tally.failures.push(`trial ${n} (${m.what}): ${why}; exit ${o.exitCode}: ${o.stderr.trim().split("\n").slice(-3).join(" | ").slice(0, 400)}`);
    };
    const deadline = Date.now() + SECONDS * 1000;
    for (let n = 0; Date.now() < deadline && tally.failures.length < 10; n++) {
      const m = mutant(r);
      tally.trials++;
      tally.byKind[m.what.replace(/ \d+ /, " N ")] = (tally.byKind[m.what.replace(/ \d+ /, " N ")] ?? 0) + 1;
      const input = join(work, "input");
      const store = join(work, "store");
      rmSync(store, { recursive: true, force: true });
      writeFileSync(input, m.bytes);
      const o = await minicRun(m.argv(input, store), 30_000);
      if (process.env.MINIC_FUZZ_VERBOSE) console.log(`${n} ${m.what}: exit ${o.exitCode} ${o.stderr.trim().split("\n").pop()?.slice(0, 200)}`);
      const bad = crash(o);
      if (bad) keep(n, m, bad, o);
      else if (o.exitCode === 2) tally.usage++;
      else if (o.exitCode === 1) tally.refused++;
      else {
        tally.taken++;
        // What was taken can be unpacked (flattened, and as overlay layers) and run.
        const refs = readdirSync(join(store, "refs")).flatMap((n1) => readdirSync(join(store, "refs", n1)).map((tag) => `${decodeURIComponent(n1)}:${tag}`));
        for (const ref of refs) {
          const ex = await minicRun(["export", "--store", store, ref, "-o", join(work, "export.cpio.bz2")], 60_000);
          const run = await minicRun(["run", "--net", "none", "--store", store, ref, "--", "/bin/true", "passwd"], 60_000);
          for (const [cmd, out] of [["export", ex], ["run", run]] as const) {
            const why = crash(out, cmd === "run") ?? (out.exitCode !== 0 && NOT_UNPACKABLE.test(out.stderr) ? `taken, but ${cmd} cannot unpack it` : undefined);
            if (why) keep(n, m, `${cmd} of ${ref}: ${why}`, out);
          }
          if (run.exitCode === 0) tally.ran++;
        }
        rmSync(join(work, "export.cpio.bz2"), { force: true });
      }
      // Nothing is ever written outside the store: not through the seeds' symlinks, not beside it.
      const strays = readdirSync(outside).concat(readdirSync(work).filter((f) => !["input", "store"].includes(f)));
      if (strays.length > 0) {
        keep(n, m, `wrote outside the store: ${strays.join(", ")}`, o);
        for (const s of readdirSync(outside)) rmSync(join(outside, s), { recursive: true, force: true });
      }
    }
    console.log(`fuzz (seed ${SEED}, ${SECONDS} s): ${tally.trials} trials: ${tally.taken} taken (${tally.ran} of their images ran), ${tally.refused} refused (exit 1), ${tally.usage} usage (exit 2), ${tally.failures.length} failures\n  by kind: ${JSON.stringify(tally.byKind)}` + (kept ? `\n  failing inputs kept in ${kept}` : ""));
    expect(tally.failures).toEqual([]);
    expect(tally.trials).toBeGreaterThan(20);
    expect(hostLeaks().filter((l) => !leaksBefore.has(l))).toEqual([]);
  }, (SECONDS + 240) * 1000);
});
