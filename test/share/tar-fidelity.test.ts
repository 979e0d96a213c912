// Exact metadata through tar, judged by GNU tar and GNU cpio (issue 10): a tree with modes 0000
// and 4755, owners past ustar's octal fields (300000 fits 7 digits; 70000000 needs pax), names
// and a link target past ustar's fields goes
// - into minic by GNU cpio (newc) and out through `save --format oci`: GNU tar extracts the
//   OCI layer with every field as it was (tar-stream wrote mode 0000 as 0644 and clamped owners
//   to 262143);
// - into minic by GNU tar --format=posix and out through `export`: GNU cpio extracts it with
//   every field as it was (pax owners were ignored: the file became root's).
// Extended attributes in a tar: user.* and security.capability are kept (test/share/xattrs.test.ts
// has the whole round trip), other namespaces are dropped with a note, never silently.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, tempDir } from "../helpers/cli.js";
import { imageLayout, ociConfig, rawTar } from "../helpers/image-archive.js";

const t = tempDir("minic-tar-fidelity-");
const tree = join(t.path, "tree");
const store = join(t.path, "store");
const MTIME = 1234567890;
const longDir = "a".repeat(100);
const longFile = "b".repeat(120); // longDir/longFile: 221 bytes, no ustar prefix/name split fits
const deep = ["c".repeat(200), "d".repeat(200), "e".repeat(60)]; // 462 bytes
const target = `/${"t".repeat(150)}`; // over ustar's 100-byte link field

const sh = (cmd: string, cwd = t.path) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" });

/**
 * path → "mode uid gid kind content-or-target" for every entry below `dir`. Not the mtime: a
 * minic layer's mtimes are its build epoch (SOURCE_DATE_EPOCH, or 0), so that layers are
 * reproducible; the OCI layer keeps the layer's, checked below.
 */
function describeTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${n}` : n;
      const full = join(dir, p);
      const st = lstatSync(full);
      const kind = st.isSymbolicLink() ? "symlink" : st.isDirectory() ? "dir" : "file";
      const what = kind === "symlink" ? readlinkSync(full) : kind === "file" ? readFileSync(full, "utf8") : "";
      out[p] = `${(st.mode & 0o7777).toString(8).padStart(4, "0")} ${st.uid} ${st.gid} ${kind} ${what}`;
      if (kind === "dir") walk(p);
    }
  };
  walk("");
  return out;
}

beforeAll(() => {
  mkdirSync(join(tree, longDir), { recursive: true });
  mkdirSync(join(tree, ...deep.slice(0, 2)), { recursive: true });
  mkdirSync(join(tree, "private"));
  const files: [string, string, number, number, number][] = [
    ["shadow", "root:!:19000::::::\n", 0o000, 0, 42],
    ["suid", "#!/bin/sh\n", 0o4755, 0, 0],
    ["big-owner", "300000\n", 0o640, 300000, 300001],
    ["huge-owner", "70000000\n", 0o600, 70000000, 70000001],
    [join(longDir, longFile), "long\n", 0o644, 1000, 1000],
    [join(...deep), "deep\n", 0o644, 0, 0],
    [join("private", "key"), "k\n", 0o400, 0, 0],
  ];
  for (const [p, data, mode, uid, gid] of files) {
    writeFileSync(join(tree, p), data);
    sh(`chown ${uid}:${gid} '${p}' && chmod ${mode.toString(8)} '${p}'`, tree);
  }
  sh(`ln -s '${target}' link && chmod 0700 private && chown 5000:5000 private`, tree);
  sh(`find . -mindepth 1 -exec touch -h -d @${MTIME} {} +`, tree);
});
afterAll(() => t.remove());

describe("exact metadata through tar, judged by GNU tar and GNU cpio", () => {
  it("save --format oci: GNU tar extracts the layer with every mode, owner, name, target and mtime", async () => {
    sh(`find . -mindepth 1 | cpio -o -H newc --quiet > ${join(t.path, "tree.cpio")}`, tree);
    await minicOk(["import", join(t.path, "tree.cpio"), "-t", "fid:cpio", "--keep-setuid", "--store", store]);
    const oci = join(t.path, "oci");
    mkdirSync(oci);
    await minicOk(["save", "fid:cpio", "--format", "oci", "-o", join(t.path, "fid-oci.tar"), "--store", store]);
    sh(`tar -xf ../fid-oci.tar`, oci);
    const index = JSON.parse(readFileSync(join(oci, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(oci, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
    const layer = join(oci, "blobs", "sha256", manifest.layers[0].digest.slice(7));
    const out = join(t.path, "from-oci");
    mkdirSync(out);
    sh(`tar -xzpf '${layer}' --numeric-owner --same-owner -C '${out}'`);
    expect(describeTree(out)).toEqual(describeTree(tree));
    // And bsdtar (libarchive) lists the same owners and modes.
    const listing = sh(`bsdtar -tvzf '${layer}' --numeric-owner`);
    expect(listing).toMatch(/^---------- +0 +0 +42 .* shadow$/m);
    expect(lstatSync(join(out, "shadow")).mtimeMs).toBe(0); // the layer's mtime (no SOURCE_DATE_EPOCH)
    expect(listing).toMatch(/^-rw------- +0 +70000000 +70000001 .* huge-owner$/m);
  });

  it("import of a GNU tar --format=posix: GNU cpio extracts minic's export with every field as it was", async () => {
    sh(`tar --format=posix --numeric-owner -cf ../tree.tar .`, tree);
    await minicOk(["import", join(t.path, "tree.tar"), "-t", "fid:tar", "--keep-setuid", "--store", store]);
    await minicOk(["export", "fid:tar", "-o", join(t.path, "fid.cpio.bz2"), "--store", store]);
    const out = join(t.path, "from-export");
    mkdirSync(out);
    sh(`bzip2 -dc ../fid.cpio.bz2 | cpio -idmu --quiet --no-absolute-filenames`, out);
    expect(describeTree(out)).toEqual(describeTree(tree));
  });

  it("extended attributes in a tar: user.* is kept, a namespace minic does not carry is dropped with a note, not silently", async () => {
    const x = join(t.path, "xtree");
    mkdirSync(x);
    writeFileSync(join(x, "ping"), "x");
    sh(`setfattr -n user.minic -v 1 ping && setfattr -n trusted.minic -v 1 ping && tar --format=posix --xattrs --xattrs-include='*' -cf ../x.tar .`, x);
    expect(sh(`tar --xattrs -tvvf x.tar 2>&1 | head -5; tar -tf x.tar >/dev/null && echo ok`)).toMatch(/ok/);
    const r = await minicOk(["import", join(t.path, "x.tar"), "-t", "fid:x", "--store", store]);
    expect(r.stderr).toMatch(/dropped extended attributes of 1 member\(s\) that minic layers do not carry \(.*trusted\.\*, .*; kept: security\.capability and user\.\* of files and directories\)/);
    const out = join(t.path, "from-x");
    mkdirSync(out);
    await minicOk(["save", "fid:x", "--format", "oci", "-o", join(t.path, "x-oci.tar"), "--store", store]);
    // Every gzip blob of the archive is a layer (the configs and manifests are not gzip).
    sh(`tar -xf ../x-oci.tar && for b in blobs/sha256/*; do if gzip -t $b 2>/dev/null; then tar --xattrs --xattrs-include='*' -xzf $b; fi; done`, out);
    expect(sh(`getfattr -d -m - ping`, out)).toMatch(/^user\.minic="1"$/m);
    expect(sh(`getfattr -d -m - ping`, out)).not.toMatch(/trusted/);
  });

  it("load keeps an OCI layer's mtimes, also those after the config's created (BuildKit's SOURCE_DATE_EPOCH images) or with no created", async () => {
    const layer = rawTar([{ name: "old", data: Buffer.from("o\n"), mtime: 1234567890 }, { name: "new", data: Buffer.from("n\n"), mtime: 4102444800 }]);
    for (const [tag, over] of [["created", { created: "2020-01-01T00:00:00Z" }], ["none", { created: undefined }]] as const) {
      const cfg = ociConfig([layer], over);
      const archive = join(t.path, `mtimes-${tag}.tar`);
      writeFileSync(archive, imageLayout({ layers: [layer], config: JSON.parse(JSON.stringify(cfg)), format: "docker", ref: `localhost/mtimes:${tag}` }));
      const s = join(t.path, `s-mtimes-${tag}`);
      await minicOk(["load", archive, "--store", s]);
      const dir = join(t.path, `x-mtimes-${tag}`);
      mkdirSync(dir);
      sh(`"${join(process.cwd(), "bin/minic")}" export --store "${s}" localhost/mtimes:${tag} -o - | bzip2 -dc | cpio -idm --quiet`, dir);
      expect([lstatSync(join(dir, "old")).mtimeMs / 1000, lstatSync(join(dir, "new")).mtimeMs / 1000]).toEqual([1234567890, 4102444800]);
    }
  });
});
