// Owners and modes of what the unpacker makes, whatever the umask and the directory it writes
// into: it leaves out the chown and chmod calls a new node does not need (src/archive/unpack.ts),
// and each node must still come out exactly as its entry says.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { unpackMembers, type UnpackMember } from "../../src/archive/unpack.js";
import type { Entry } from "../../src/archive/entry.js";
import { tempDir } from "../helpers/cli.js";

const asRoot = process.getuid?.() === 0;
const MTIME = 1_500_000_000;

function member(e: Partial<Entry> & { name: string; kind: Entry["kind"] }, text = ""): UnpackMember {
  const data = Buffer.from(text);
  return {
    entry: { mode: 0o644, uid: 0, gid: 0, mtime: MTIME, size: e.kind === "file" ? data.length : 0, ...e },
    data: (async function* () {
      if (data.length > 0) yield data;
    })(),
  };
}

/** Root's files (the common case, where no chown is needed) and others', in modes the umask does and does not take from. */
const members = (): UnpackMember[] => [
  member({ name: "d", kind: "dir", mode: 0o755 }),
  member({ name: "d/plain", kind: "file", mode: 0o644 }, "a"),
  member({ name: "d/group-writable", kind: "file", mode: 0o775 }, "b"),
  member({ name: "d/private", kind: "file", mode: 0o600 }, "c"),
  member({ name: "d/none", kind: "file", mode: 0o000 }, "d"),
  member({ name: "d/setuid", kind: "file", mode: 0o4755 }, "e"),
  member({ name: "d/setgid-other", kind: "file", mode: 0o2755, uid: 1000, gid: 1001 }, "f"),
  member({ name: "d/sticky", kind: "file", mode: 0o1644 }, "g"),
  member({ name: "d/users", kind: "file", mode: 0o640, uid: 1000, gid: 1001 }, "h"),
  member({ name: "d/root-group", kind: "file", mode: 0o644, uid: 1000, gid: 0 }, "i"),
  member({ name: "d/link", kind: "symlink", linkname: "plain" }),
  member({ name: "d/user-link", kind: "symlink", linkname: "plain", uid: 1000, gid: 1001 }),
  member({ name: "shared", kind: "dir", mode: 0o2775, gid: 1001 }),
  member({ name: "shared/in", kind: "file", mode: 0o664 }, "j"),
];

/**
 * Gives `dir` a default ACL of user::rwx group::r-x other::--- (what `setfacl -d -m o::---` does),
 * written as the kernel's xattr with setfattr: new nodes in it then get their mode from it, not
 * from the umask.
 */
function setDefaultAcl(dir: string): void {
  const entry = (tag: number, perm: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(tag, 0);
    b.writeUInt16LE(perm, 2);
    b.writeUInt32LE(0xffffffff, 4); // no qualifier
    return b;
  };
  const value = Buffer.concat([Buffer.from([2, 0, 0, 0]), entry(0x01, 7), entry(0x04, 5), entry(0x20, 0)]);
  execFileSync("setfattr", ["-n", "system.posix_acl_default", "-v", `0x${value.toString("hex")}`, dir]);
}

function expectAsEntries(dest: string, list: UnpackMember[]): void {
  // Nothing else is there (no probe the unpacker made to see what new nodes get).
  const names = (readdirSync(dest, { recursive: true }) as string[]).sort();
  expect(names).toEqual(list.map((m) => m.entry.name).sort());
  for (const { entry: e } of list) {
    const st = lstatSync(join(dest, e.name));
    const got = { uid: st.uid, gid: st.gid, mode: e.kind === "symlink" ? undefined : st.mode & 0o7777, mtime: st.mtimeMs / 1000 };
    const want = { uid: e.uid, gid: e.gid, mode: e.kind === "symlink" ? undefined : e.mode, mtime: MTIME };
    expect(got, e.name).toEqual(want);
    if (e.kind === "file") expect(readFileSync(join(dest, e.name), "utf8").length, e.name).toBe(e.size);
  }
}

const OPTS = { whiteouts: "overlay", devices: false, setuid: true, owners: true } as const;

(asRoot ? describe : describe.skip)("the unpacker's owners and modes (needs root, to give nodes other owners)", () => {
  const dirs: { remove(): void }[] = [];
  const umask = process.umask();
  afterEach(() => {
    process.umask(umask);
    for (const d of dirs.splice(0)) d.remove();
  });
  function dest(): string {
    const t = tempDir("minic-unpack-owners-");
    dirs.push(t);
    const d = join(t.path, "tree");
    mkdirSync(d, { mode: 0o755 });
    return d;
  }

  for (const mask of [0o022, 0o077, 0o000, 0o777]) {
    it(`comes out as its entries say under umask ${mask.toString(8).padStart(3, "0")}`, async () => {
      process.umask(mask);
      const d = dest();
      await unpackMembers(members(), d, OPTS, "fresh");
      expectAsEntries(d, members());
    });
  }

  it("in a fresh tree whose root has a setgid bit (new nodes take its group), every node still gets its entry's group", async () => {
    const d = dest();
    chownSync(d, 0, 4242);
    chmodSync(d, 0o2755);
    await unpackMembers(members(), d, OPTS, "fresh");
    expectAsEntries(d, members());
  });

  it("in a fresh tree with a default ACL (which overrides the umask), every node still gets its entry's mode", async () => {
    const d = dest();
    setDefaultAcl(d);
    await unpackMembers(members(), d, OPTS, "fresh");
    expectAsEntries(d, members());
  });

  it("into an existing tree (layers flattened), with a setgid directory of a lower layer", async () => {
    const d = dest();
    mkdirSync(join(d, "d"));
    chownSync(join(d, "d"), 0, 4242);
    chmodSync(join(d, "d"), 0o2755);
    await unpackMembers(members(), d, { ...OPTS, whiteouts: "apply" }, "existing");
    expectAsEntries(d, members());
  });

  it("without owners kept, every node is the unpacking user's, modes as the entries say", async () => {
    const d = dest();
    await unpackMembers(members(), d, { ...OPTS, owners: false }, "fresh");
    for (const { entry: e } of members()) {
      const st = lstatSync(join(d, e.name));
      expect({ uid: st.uid, gid: st.gid }, e.name).toEqual({ uid: 0, gid: 0 });
      if (e.kind !== "symlink") expect(st.mode & 0o7777, e.name).toBe(e.mode);
    }
  });
});
