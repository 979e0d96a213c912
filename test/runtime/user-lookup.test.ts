// How nspawn --user finds the container user, as data: the image's getent when it can give the
// answer minic resolved, else a stand-in (ELF on x86-64, the sh script elsewhere with /bin/sh),
// else a one-line ERUN before anything starts.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { MinicError } from "../../src/core/errors.js";
import { mayExecute } from "../../src/core/exec-permission.js";
import { resolveUser } from "../../src/runtime/user.js";
import { getentAnswers, getentScript, nspawnUserKey, planUserLookup, type GetentFacts } from "../../src/runtime/user-lookup.js";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1500:1600:app:/home/app:/sbin/nologin\n";
const GROUP = "root:x:0:\napp:x:1600:\nstaff:x:50:app\n";
const none: GetentFacts = { usrBinGetent: "none", binGetent: false, binSh: false, arch: "x64" };
const withGetent: GetentFacts = { ...none, usrBinGetent: "file" };
const plan = (user: string, facts: GetentFacts) => planUserLookup(user, resolveUser(user, PASSWD, GROUP), facts);

describe("resolveUser", () => {
  it("resolves names, uids and groups, and reports the passwd entry", () => {
    const entry = { name: "app", uid: 1500, gid: 1600, home: "/home/app", shell: "/sbin/nologin" };
    // groups: the /etc/group rows that list the entry's name (staff lists app).
    expect(resolveUser("app", PASSWD, GROUP)).toEqual({ uid: 1500, gid: 1600, groups: [50], entry });
    expect(resolveUser("1500", PASSWD, GROUP)).toEqual({ uid: 1500, gid: 1600, groups: [50], entry });
    expect(resolveUser("app:staff", PASSWD, GROUP)).toEqual({ uid: 1500, gid: 50, groups: [50], entry });
    expect(resolveUser("2000:2000", PASSWD, GROUP)).toEqual({ uid: 2000, gid: 2000, groups: [] });
    // A uid without an entry gets group 0, as under podman and Docker; `:GID` is root with it.
    expect(resolveUser("2000", undefined, undefined)).toEqual({ uid: 2000, gid: 0, groups: [] });
    expect(resolveUser(":50", PASSWD, GROUP)).toEqual({ uid: 0, gid: 50, groups: [], entry: { name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/sh" } });
    for (const u of ["4294967295", "2000:99999999999", "0:2147483648"]) expect(() => resolveUser(u, PASSWD, GROUP), u).toThrow(/is out of range \(0-2147483647\)/);
    expect(resolveUser("2147483647:2147483647", PASSWD, GROUP)).toEqual({ uid: 2147483647, gid: 2147483647, groups: [] });
    expect(() => resolveUser("ghost", PASSWD, GROUP)).toThrow(/user 'ghost' is not in the image's \/etc\/passwd/);
    expect(() => resolveUser("app:nogroup", PASSWD, GROUP)).toThrow(/group 'nogroup' is not in the image's \/etc\/group/);
  });
});

describe("mayExecute", () => {
  const who = { uid: 1500, gid: 1600, groups: [50] };
  it("applies the one class of bits the kernel does: owner, else group, else others; root needs any x bit", () => {
    const cases: [number, number, number, boolean][] = [
      [0o700, 0, 0, false], [0o701, 0, 0, true], [0o710, 0, 1600, true], [0o701, 0, 1600, false],
      [0o070, 1500, 0, false], [0o100, 1500, 0, true], [0o007, 1500, 1600, false],
      // A group /etc/group lists the user in: whether the process has it depends on the runtime's lookup.
      [0o710, 0, 50, true], [0o701, 0, 50, true], [0o700, 0, 50, false],
    ];
    for (const [mode, uid, gid, ok] of cases) expect(mayExecute({ mode, uid, gid }, who), `${mode.toString(8)} ${uid}:${gid}`).toBe(ok);
    expect(mayExecute({ mode: 0o100, uid: 7, gid: 7 }, { uid: 0, gid: 0, groups: [] })).toBe(true);
    expect(mayExecute({ mode: 0o644, uid: 0, gid: 0 }, { uid: 0, gid: 0, groups: [] })).toBe(false);
  });
});

describe("planUserLookup", () => {
  it("uses the image's getent when it has one and its entry gives the same uid and gid", () => {
    for (const u of ["app", "1500", "app:1600", "1500:app"]) {
      expect(plan(u, withGetent), u).toEqual({ kind: "image" });
      expect(plan(u, { ...none, binGetent: true }), u).toEqual({ kind: "image" });
    }
  });

  it("binds the ELF stand-in without getent, for a uid without an entry, and for another group", () => {
    for (const [u, facts] of [["app", none], ["2000:2000", withGetent], ["app:staff", withGetent], ["2000", none]] as const) {
      const p = plan(u, facts);
      expect(p.kind, u).toBe("stand-in");
      if (p.kind === "stand-in") {
        expect(p.exe).toBe("elf");
        expect((p.content as Buffer).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
      }
    }
  });

  it("names uid 0 with another group by a key of its own, which only the stand-in answers (nspawn takes root and 0 as 0:0)", () => {
    expect(["0:50", "root:staff", ":50", "root", "0", "app", "0:0"].map((u) => { const r = resolveUser(u, PASSWD, GROUP); return nspawnUserKey(u, r.uid, r.gid); }))
      .toEqual(["minic-root", "minic-root", "minic-root", "root", "0", "app", "0"]);
    // Even where the image's root entry has that group, the image's getent does not know the key.
    const rootStaff = "root:x:0:50:root:/root:/bin/sh\n";
    expect(planUserLookup("root:staff", resolveUser("root:staff", rootStaff, GROUP), withGetent).kind).toBe("stand-in");
    const p = plan("0:50", withGetent);
    expect(p.kind).toBe("stand-in");
  });

  it("falls back to the sh stand-in on a host without machine code, when the image has /bin/sh", () => {
    const p = plan("2000:2000", { ...none, arch: "riscv64", binSh: true });
    expect(p).toEqual({ kind: "stand-in", exe: "sh", content: getentScript(getentAnswers("2000", { uid: 2000, gid: 2000 })) });
  });

  it("refuses, in one line with a hint, what cannot work", () => {
    const err = (u: string, f: GetentFacts) => {
      try {
        plan(u, f);
      } catch (e) {
        expect(e).toBeInstanceOf(MinicError);
        return `${(e as MinicError).message} | ${(e as MinicError).hint}`;
      }
      throw new Error("no error");
    };
    expect(err("2000:2000", { ...none, arch: "riscv64" })).toMatch(/^cannot run as '2000:2000' under systemd-nspawn: the image has no getent, it has no \/bin\/sh .* on riscv64 \| run with --runtime chroot/);
    expect(err("2000", { ...none, usrBinGetent: "other" })).toMatch(/uid 2000 has no entry .*not a regular file\) \| give a user as the image's \/etc\/passwd has it, or run with --runtime chroot/);
    expect(err("app:staff", { ...none, usrBinGetent: "other" })).toMatch(/group 50 is not the primary group of 'app'/);
    // An entry too long for one answer (a home of 5000 bytes) is refused, not a crash.
    const long = { uid: 2000, gid: 2000, entry: { name: "app", uid: 2000, gid: 2000, home: `/${"h".repeat(5000)}`, shell: "" } };
    expect(() => planUserLookup("app", long, none)).toThrow(/its \/etc\/passwd entry is longer than minic's getent stand-in prints/);
    // The image's getent, even a symlink, is fine when it can answer.
    expect(plan("app", { ...none, usrBinGetent: "other" })).toEqual({ kind: "image" });
  });
});

describe("getent answers", () => {
  it("are what nspawn parses: passwd uid, gid, home; initgroups gids after the name", () => {
    expect(getentAnswers("app", resolveUser("app:staff", PASSWD, GROUP))).toEqual({ passwd: "app:x:1500:50::/home/app:/sbin/nologin\n", initgroups: "app 50\n" });
    expect(getentAnswers("2000", resolveUser("2000:3000", PASSWD, GROUP))).toEqual({ passwd: "2000:x:2000:3000::/:\n", initgroups: "2000 3000\n" });
  });

  it("the sh stand-in prints them, quoting what the shell would expand", () => {
    const a = { passwd: "o'k:x:1:2::/h $x:\n", initgroups: "o'k 2\n" };
    const sh = (db: string) => spawnSync("/bin/sh", ["-c", getentScript(a), "getent", db, "k"], { encoding: "utf8" });
    expect(sh("passwd")).toMatchObject({ status: 0, stdout: a.passwd });
    expect(sh("initgroups")).toMatchObject({ status: 0, stdout: a.initgroups });
    expect(sh("hosts").status).toBe(1);
  });
});
