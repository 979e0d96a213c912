// Layers of old Docker images built on aufs carry aufs's own metadata at their root
// (.wh..wh.aufs, .wh..wh.plnk/, .wh..wh.orph/): load skips it, as Docker and podman do, with a
// note, where it refused the image ("unknown whiteout marker"). A hard link to a device node
// the policy drops is dropped with it, where it refused the image as "not an earlier file".
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { minicOk, ROOT, tempDir } from "../helpers/cli.js";
import { imageLayout, rawTar } from "../helpers/image-archive.js";

const t = tempDir("minic-aufs-layers-");
afterAll(() => t.remove());

describe("aufs-era layers", () => {
  it("load skips aufs metadata and drops a hard link to a dropped device, saying both", async () => {
    const layer = rawTar([
      { name: ".wh..wh.aufs", data: Buffer.alloc(0) },
      { name: ".wh..wh.plnk/", type: "5" },
      { name: ".wh..wh.plnk/260.1234", data: Buffer.from("linked\n") },
      { name: ".wh..wh.orph/", type: "5" },
      { name: "dev/", type: "5" },
      { name: "dev/null", type: "3" },
      { name: "dev/null2", type: "1", linkname: "dev/null" },
      { name: "etc/", type: "5" },
      { name: "etc/x", data: Buffer.from("x\n") },
    ]);
    const archive = join(t.path, "aufs.tar");
    writeFileSync(archive, imageLayout({ layers: [layer], format: "docker", ref: "localhost/aufs:1" }));
    const store = join(t.path, "store");
    const r = await minicOk(["load", archive, "--store", store]);
    expect(r.stderr).toContain("dropped 2 device node(s)");
    expect(r.stderr).toContain("skipped 4 aufs metadata entries (.wh..wh.aufs, .wh..wh.plnk, .wh..wh.orph: not files of the image)");
    const list = execFileSync("sh", ["-c", `"$0" export --store "$1" localhost/aufs:1 -o - | bzip2 -dc | cpio -it --quiet | sort`, join(ROOT, "bin/minic"), store], { encoding: "utf8" });
    expect(list.trim().split("\n")).toEqual(["dev", "etc", "etc/x"]);
  });
});
