// tar headers minic writes: pax records that count their own length right at every boundary,
// ustar fields that hold what fits and pax for the rest (the peers' judgement is in
// test/share/tar-fidelity.test.ts).
import { describe, expect, it } from "vitest";
import { paxRecord, tarHeader } from "../../src/archive/tar-header.js";

const field = (b: Buffer, at: number, width: number) => b.subarray(at, at + width).toString("latin1").replace(/\0.*$/s, "");

describe("tar headers", () => {
  it("a pax record's length counts itself, also where adding its digits adds a digit", () => {
    for (let n = 0; n < 1100; n++) {
      const r = paxRecord("path", "x".repeat(n)).toString();
      expect(Number(r.slice(0, r.indexOf(" ")))).toBe(Buffer.byteLength(r));
    }
  });

  it("mode 0000 and owners that fit stay in ustar; larger owners and long names go to pax", () => {
    const plain = tarHeader({ name: "etc/shadow", type: "file", mode: 0, uid: 2097151, gid: 42, mtime: 0, size: 5 });
    expect(plain.length).toBe(512);
    expect([field(plain, 100, 8), field(plain, 108, 8), field(plain, 116, 8)]).toEqual(["0000000", "7777777", "0000052"]);
    const big = tarHeader({ name: `${"d".repeat(200)}/f`, type: "file", mode: 0o4755, uid: 70000000, gid: 2097152, mtime: 0, size: 0 });
    expect(big.length).toBe(512 * 3);
    const records = big.subarray(512, 1024).toString("latin1");
    expect(records).toContain(" uid=70000000\n");
    expect(records).toContain(" gid=2097152\n");
    expect(records).toContain(` path=${"d".repeat(200)}/f\n`);
    expect(field(big, 1024 + 100, 8)).toBe("0004755");
  });

  it("a directory's name ends with a slash; a name that splits fits ustar's prefix", () => {
    const d = tarHeader({ name: `${"p".repeat(150)}/${"n".repeat(90)}`, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 });
    expect(d.length).toBe(512);
    expect([field(d, 345, 155), field(d, 0, 100), field(d, 156, 1)]).toEqual(["p".repeat(150), `${"n".repeat(90)}/`, "5"]);
  });
});
