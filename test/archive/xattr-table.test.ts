// A layer's xattr table (issue 10 item 2): the canonical encoding, the reserved first member
// that carries it, and what readers refuse (hostile and malformed tables built in memory).
import { describe, expect, it } from "vitest";
import { decodeXattrTable, encodeXattrTable, splitXattrs, type Xattr } from "../../src/core/xattrs.js";
import { planArchive } from "../../src/archive/cpio-canonical.js";
import { writeCpio } from "../../src/archive/cpio-writer.js";
import { readCpio } from "../../src/archive/cpio-reader.js";
import { paxRecord, tarHeader, TAR_END, padding } from "../../src/archive/tar-header.js";
import { readTarMembers } from "../../src/share/tar-members.js";
import { admitMember, LAYER_POLICY } from "../../src/share/member-policy.js";
import type { Entry } from "../../src/archive/entry.js";
import { chunked, parseRawCpio, rawArchive, S } from "../helpers/raw-cpio.js";

const CAP = Buffer.from("0100000200200000000000000000000000000000", "hex");
const BIN = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x3d, 0x5c]);
const x = (name: string, value: Buffer | string): Xattr => ({ name, value: Buffer.from(value) });
const file = (name: string, data: string, xattrs?: Xattr[]): Entry => ({ name, kind: "file", mode: 0o755, uid: 0, gid: 0, mtime: 0, size: data.length, ...(xattrs ? { xattrs } : {}) });

async function archiveOf(entries: Entry[], data: Record<string, string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of writeCpio(planArchive(entries, 0), (m) => Buffer.from(data[m.entry.name] ?? ""))) parts.push(c);
  return Buffer.concat(parts);
}

async function members(buf: Buffer) {
  const out: { name: string; xattrs?: Xattr[]; data: string }[] = [];
  for await (const m of readCpio(chunked(buf, 13))) {
    let d = "";
    for await (const c of m.data) d += c.toString();
    out.push({ name: m.entry.name, ...(m.entry.xattrs ? { xattrs: m.entry.xattrs } : {}), data: d });
  }
  return out;
}

describe("the xattr table", () => {
  it("is canonical: rows sorted by path, names sorted, base64 values, getfattr quoting; decoding gives the rows back", () => {
    const rows = [
      { path: "usr/bin/ping", xattrs: [x("security.capability", CAP)] },
      { path: "etc/we ird=\\name\n", xattrs: [x("user.a=b", "hi"), x("user.bin", BIN)] },
    ];
    const text = encodeXattrTable(rows).toString();
    expect(text).toBe(
      "# file: etc/we ird=\\134name\\012\nuser.a\\075b=0saGk=\nuser.bin=0sAP8KDT1c\n\n" +
        "# file: usr/bin/ping\nsecurity.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=\n\n",
    );
    expect(encodeXattrTable([...rows].reverse()).toString()).toBe(text);
    const back = decodeXattrTable(Buffer.from(text));
    expect([...back.keys()]).toEqual(["etc/we ird=\\name\n", "usr/bin/ping"]);
    expect(back.get("etc/we ird=\\name\n")!.map((a) => [a.name, a.value.toString("hex")])).toEqual([["user.a=b", "6869"], ["user.bin", BIN.toString("hex")]]);
  });

  it.each([
    ["unsorted rows", "# file: b\nuser.x=0sMQ==\n\n# file: a\nuser.x=0sMQ==\n\n", /not in canonical form/],
    ["a hex value", "# file: a\nuser.x=0x31\n\n", /not NAME=0sBASE64/],
    ["a namespace minic does not carry", "# file: a\ntrusted.x=0sMQ==\n\n", /'trusted\.x', a namespace minic layers do not carry/],
    ["a path listed twice", "# file: a\nuser.x=0sMQ==\n\n# file: a\nuser.y=0sMQ==\n\n", /'a' is listed twice/],
    ["an empty table", "", /it is empty/],
    ["a value over the limit", `# file: a\nuser.x=0s${Buffer.alloc(65537).toString("base64")}\n\n`, /65537-byte value, over the 65536 bytes/],
  ])("refuses %s", (_what, text, why) => {
    expect(() => decodeXattrTable(Buffer.from(text))).toThrow(why);
  });

  it("splitXattrs keeps security.capability and user.*, names the rest", () => {
    const { carried, dropped } = splitXattrs([x("user.b", "1"), x("security.selinux", "l"), x("security.capability", CAP), x("system.posix_acl_access", "a"), x("trusted.overlay.opaque", "y"), x("user.a", "2")], "f");
    expect(carried.map((a) => a.name)).toEqual(["security.capability", "user.a", "user.b"]);
    expect(dropped).toEqual(["security.selinux", "system.posix_acl_access", "trusted.overlay.opaque"]);
    expect(() => splitXattrs([x("user." + "n".repeat(251), "1")], "f")).toThrow(/256-byte name, over the 255 bytes minic carries/);
  });
});

describe("the table in a layer", () => {
  it("a layer without xattrs has no table (its bytes are as before); with them, the table is member 1 and readers apply it", async () => {
    const plain = parseRawCpio(await archiveOf([file("a", "A"), file("b", "B")], { a: "A", b: "B" })).members;
    expect(plain.map((m) => [m.name, m.ino])).toEqual([["a", 1], ["b", 2], ["TRAILER!!!", 0]]);
    const buf = await archiveOf([file("b", "B", [x("user.t", BIN)]), file("a", "A", [x("security.capability", CAP)])], { a: "A", b: "B" });
    const raw = parseRawCpio(buf).members;
    expect(raw.map((m) => [m.name, m.ino, m.mode.toString(8)])).toEqual([[".minic-xattrs", 1, "100644"], ["a", 2, "100755"], ["b", 3, "100755"], ["TRAILER!!!", 0, "0"]]);
    expect(raw[0]!.data.toString()).toBe("# file: a\nsecurity.capability=0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=\n\n# file: b\nuser.t=0sAP8KDT1c\n\n");
    const read = await members(buf);
    expect(read.map((m) => [m.name, m.data, m.xattrs?.map((a) => `${a.name}=${a.value.toString("hex")}`)])).toEqual([
      ["a", "A", [`security.capability=${CAP.toString("hex")}`]],
      ["b", "B", [`user.t=${BIN.toString("hex")}`]],
    ]);
  });

  it("planArchive refuses a file of the table's name at the root; the member policy refuses it in an import", () => {
    expect(() => planArchive([file(".minic-xattrs", "")], 0)).toThrow(/a file may not be named '\.minic-xattrs' at the root of a layer/);
    expect(() => admitMember(new Map(), { rawName: "./.minic-xattrs", entry: file(".minic-xattrs", "") }, LAYER_POLICY)).toThrow(/carries a minic layer's extended attributes/);
  });

  const table = "# file: a\nuser.t=0sMQ==\n\n";
  it.each([
    ["a table that is not the first member", [{ name: "a", mode: S.file | 0o644, data: "A" }, { name: ".minic-xattrs", mode: S.file | 0o644, data: table }], /reserved for a layer's xattr table but is not its first regular file/],
    ["a table that is a directory", [{ name: ".minic-xattrs", mode: S.dir | 0o755 }], /not its first regular file/],
    ["a table naming a member the layer does not have", [{ name: ".minic-xattrs", mode: S.file | 0o644, data: "# file: gone\nuser.t=0sMQ==\n\n" }, { name: "a", mode: S.file | 0o644, data: "A" }], /names 'gone', which is not a member/],
    ["a malformed table", [{ name: ".minic-xattrs", mode: S.file | 0o644, data: "user.t=1\n" }, { name: "a", mode: S.file | 0o644, data: "A" }], /xattr table is malformed: a line outside a file section/],
  ])("readCpio refuses %s", async (_what, list, why) => {
    await expect(members(rawArchive(list))).rejects.toThrow(why);
  });
});

describe("xattrs in tar", () => {
  it("are written as pax SCHILY.xattr records with the raw value ('=' in a name as %3D) and read back exactly", async () => {
    const h = tarHeader({ name: "f", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1, xattrs: [x("security.capability", CAP), x("user.a=b", BIN)] });
    const records = h.subarray(512, 512 + parseInt(h.toString("latin1", 124, 135), 8));
    expect(records.equals(Buffer.concat([paxRecord("SCHILY.xattr.security.capability", CAP), paxRecord("SCHILY.xattr.user.a%3Db", BIN)]))).toBe(true);
    expect(paxRecord("SCHILY.xattr.user.a", BIN).toString("latin1")).toBe(`30 SCHILY.xattr.user.a=${BIN.toString("latin1")}\n`);
    const tar = Buffer.concat([h, Buffer.from("F"), Buffer.alloc(padding(1)), TAR_END]);
    const got: string[] = [];
    for await (const m of readTarMembers(chunked(tar, 100))) {
      for await (const _ of m.data);
      got.push(...(m.entry.xattrs ?? []).map((a) => `${a.name}=${a.value.toString("hex")}`));
    }
    expect(got).toEqual([`security.capability=${CAP.toString("hex")}`, `user.a=b=${BIN.toString("hex")}`]);
  });
});
