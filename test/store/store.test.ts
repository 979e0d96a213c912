// The store: atomic blob writes, verified reads, references and image lookup.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { putImage } from "../../src/store/images.js";
import { sha256 } from "../../src/core/digest.js";
import { defaultRunConfig, LAYER_MEDIA_TYPE } from "../../src/core/image.js";
import { parseRef } from "../../src/core/reference.js";
import { oneLine } from "../../src/core/errors.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
let store: Store;

beforeEach(async () => {
  t = tempDir("minic-store-");
  store = await Store.open(join(t.path, "store"));
});
afterEach(() => t.remove());

const blobs = () => readdirSync(store.layout.blobsDir);
const temps = () => readdirSync(store.layout.tmpDir);

async function collect(r: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c);
  return Buffer.concat(out);
}

describe("blobs", () => {
  it("putBlobStream stores under the sha256 of the bytes, idempotently", async () => {
    const a = await store.putBlobStream([Buffer.from("hello "), Buffer.from("world")]);
    expect(a).toEqual({ digest: sha256("hello world"), size: 11 });
    expect(await store.putBlob("hello world")).toEqual(a);
    expect(blobs()).toEqual([a.digest.slice(7)]);
    expect(temps()).toEqual([]);
  });

  it("a failing source leaves neither a blob nor a temp file", async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(1 << 20, 1);
      yield Buffer.alloc(1 << 20, 2);
      throw new Error("source died half way");
    }
    await expect(store.putBlobStream(failing())).rejects.toThrow(/half way/);
    expect(blobs()).toEqual([]);
    expect(temps()).toEqual([]);
  });

  it("an expected digest that does not match is EDIGEST and stores nothing", async () => {
    await expect(store.putBlob("abc", sha256("abd"))).rejects.toMatchObject({ code: "EDIGEST" });
    expect(blobs()).toEqual([]);
    expect(temps()).toEqual([]);
  });

  it("a blob tampered on disk is refused by readBlob and openBlob", async () => {
    const { digest } = await store.putBlob(Buffer.alloc(300000, "x"));
    const p = store.layout.blob(digest);
    const bytes = readFileSync(p);
    bytes[150000] = 0x79;
    writeFileSync(p, bytes);
    await expect(store.readBlob(digest)).rejects.toMatchObject({ code: "EDIGEST" });
    await expect(collect(store.openBlob(digest))).rejects.toMatchObject({ code: "EDIGEST" });
    writeFileSync(p, bytes.subarray(0, 1000)); // truncated
    await expect(store.readBlob(digest)).rejects.toMatchObject({ code: "EDIGEST" });
    await expect(collect(store.openBlob(digest))).rejects.toMatchObject({ code: "EDIGEST" });
  });

  it("a missing blob is ENOTFOUND with a hint", async () => {
    const d = sha256("nothing");
    await expect(store.readBlob(d)).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(collect(store.openBlob(d))).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(await store.hasBlob(d)).toBe(false);
  });
});

describe("references", () => {
  it("set, resolve, list (sorted), overwrite, delete", async () => {
    const m1 = sha256("m1"), m2 = sha256("m2");
    await store.setRef(parseRef("web"), m1);
    await store.setRef(parseRef("apps/api:1.0"), m2);
    await store.setRef(parseRef("web:dev"), m2);
    expect(await store.resolveRef(parseRef("web:latest"))).toBe(m1);
    expect((await store.listRefs()).map((r) => `${r.ref.name}:${r.ref.tag}=${r.manifest.slice(7, 9)}`)).toEqual([
      `apps/api:1.0=${m2.slice(7, 9)}`, `web:dev=${m2.slice(7, 9)}`, `web:latest=${m1.slice(7, 9)}`,
    ]);
    await store.setRef(parseRef("web"), m2);
    expect(await store.resolveRef(parseRef("web"))).toBe(m2);
    expect(await store.deleteRef(parseRef("web"))).toBe(true);
    expect(await store.deleteRef(parseRef("web"))).toBe(false);
    expect(await store.resolveRef(parseRef("web"))).toBeUndefined();
    expect(await store.deleteRef(parseRef("web:dev"))).toBe(true);
    expect(await store.deleteRef(parseRef("apps/api:1.0"))).toBe(true);
    expect(await store.listRefs()).toEqual([]);
    expect(readdirSync(store.layout.refsDir)).toEqual([]); // no empty name directories left behind
    expect(temps()).toEqual([]);
  });

  it("a name that cannot be removed is an error naming it and why, not 'it was not there'", async () => {
    await store.setRef(parseRef("web"), sha256("m1"));
    const dir = join(store.layout.refsDir, "web");
    // An immutable directory (as root, permissions would not stop the removal): EPERM.
    execFileSync("chattr", ["+i", dir]);
    try {
      const e = await store.deleteRef(parseRef("web")).then(() => undefined, (x: unknown) => x as Error);
      expect(oneLine(e)).toBe(`cannot remove the name web:latest (${join(dir, "latest")}): EPERM (hint: check the store's permissions and disk ('minic info' says which store is used))`);
    } finally {
      execFileSync("chattr", ["-i", dir]);
    }
    expect(await store.resolveRef(parseRef("web"))).toBe(sha256("m1"));
  });
});

describe("getImage", () => {
  const layer = { mediaType: LAYER_MEDIA_TYPE, digest: sha256("l"), size: 1, diffId: sha256("d") };

  async function image(tag: string, cmd: string) {
    const d = await putImage(store, [layer], { ...defaultRunConfig(), cmd: [cmd] }, [{ createdBy: "test" }], 0);
    await store.setRef(parseRef(tag), d);
    return d;
  }

  it("finds an image by name, name:tag, full digest and a unique hex prefix", async () => {
    const d = await image("hello:1", "/one");
    expect((await store.getImage("hello:1")).manifestDigest).toBe(d);
    expect((await store.getImage(d)).config.config.cmd).toEqual(["/one"]);
    expect((await store.getImage(d.slice(7, 19))).manifestDigest).toBe(d);
    expect((await store.getImage(d.slice(7))).manifestDigest).toBe(d);
    const d2 = await image("hello", "/latest");
    expect((await store.getImage("hello")).manifestDigest).toBe(d2);
  });

  it("an unknown name is ENOTFOUND with a hint, on one line", async () => {
    const err = await store.getImage("nope:1").catch((e) => e);
    expect(err).toMatchObject({ code: "ENOTFOUND" });
    expect(err.hint).toMatch(/minic/);
    expect(oneLine(err)).not.toMatch(/\n/);
    await expect(store.getImage(sha256("absent"))).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(store.getImage("abcdef123456")).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(store.getImage("Bad Name")).rejects.toMatchObject({ code: "EREF" });
  });

  it("a digest names its image only: never a name that reads as it (a loaded tarball's 'sha256:…' stood in for an absent image)", async () => {
    const d = await image("spoof:1", "/spoof");
    const trusted = sha256("the image the user trusts");
    // As an older minic (or a hand) could have left it: a name that reads as the trusted digest.
    mkdirSync(join(store.layout.refsDir, "sha256"), { recursive: true });
    writeFileSync(join(store.layout.refsDir, "sha256", trusted.slice(7)), `${d}\n`);
    for (const spec of [trusted, trusted.slice(7)]) {
      const err = await store.getImage(spec).catch((e) => e);
      expect(err).toMatchObject({ code: "ENOTFOUND" });
      expect(err.message).toBe(`no image with manifest digest ${trusted} in store ${store.root}`);
    }
    expect((() => { try { parseRef(trusted); } catch (e) { return (e as { hint?: string }).hint; } })()).toMatch(/name an image by its digest/);
  });

  it("a digest of a blob that is not a manifest is ESTORE, not a crash", async () => {
    const { digest } = await store.putBlob(Buffer.from([0x42, 0x5a, 0x68, 0x39, 0, 1, 2]));
    await expect(store.getImage(digest)).rejects.toMatchObject({ code: "ESTORE" });
    const json = await store.putJson({ hello: "world" });
    await expect(store.getImage(json.digest)).rejects.toMatchObject({ code: "ESTORE" });
  });

  it("a prefix shared by two images is EREF (ambiguous), unless it is also a name", async () => {
    const p = "abcdef123456";
    await store.setRef(parseRef("one"), `sha256:${p}${"0".repeat(52)}`);
    await store.setRef(parseRef("two"), `sha256:${p}${"1".repeat(52)}`);
    const err = await store.getImage(p).catch((e) => e);
    expect(err).toMatchObject({ code: "EREF" });
    expect(err.message).toMatch(/2 image digests/);
    const d = await image(p, "/named"); // a name made of hex digits wins over an ambiguous prefix
    expect((await store.getImage(p)).manifestDigest).toBe(d);
    await expect(store.getImage(p.slice(0, 8))).rejects.toMatchObject({ code: "ENOTFOUND" }); // < 12 digits: a name
  });

  it("finds names with a registry host and port, whose ':' is no tag, next to names an older store holds", async () => {
    const d = await image("127.0.0.1:15555/qa/pm:1", "/pm");
    const l = await image("127.0.0.1:15555/qa/pm", "/latest");
    expect(readdirSync(store.layout.refsDir)).toEqual([encodeURIComponent("127.0.0.1:15555/qa/pm")]);
    expect((await store.getImage("127.0.0.1:15555/qa/pm:1")).manifestDigest).toBe(d);
    expect((await store.getImage("127.0.0.1:15555/qa/pm")).manifestDigest).toBe(l);
    // a ref as an older minic wrote it (the pull that cut the host off): still listed and found
    mkdirSync(join(store.layout.refsDir, encodeURIComponent("qa/pm")));
    writeFileSync(join(store.layout.refsDir, encodeURIComponent("qa/pm"), "1"), `${d}\n`);
    expect((await store.listRefs()).map((r) => `${r.ref.name} ${r.ref.tag}`)).toEqual(["127.0.0.1:15555/qa/pm 1", "127.0.0.1:15555/qa/pm latest", "qa/pm 1"]);
    expect((await store.getImage("qa/pm:1")).manifestDigest).toBe(d);
    expect((await store.namesOf(d)).map((r) => `${r.name}:${r.tag}`)).toEqual(["127.0.0.1:15555/qa/pm:1", "qa/pm:1"]);
  });

  it("a name without a registry host also finds the image under localhost/, as podman looks names up", async () => {
    const d = await image("localhost/pm:1", "/loaded");
    expect(await store.getImage("pm:1")).toMatchObject({ manifestDigest: d, ref: { name: "localhost/pm", tag: "1" } });
    expect((await store.lookupRef(parseRef("pm:1")))?.ref).toEqual({ name: "localhost/pm", tag: "1" });
    const own = await image("pm:1", "/own"); // the name itself wins
    expect(await store.getImage("pm:1")).toMatchObject({ manifestDigest: own, ref: { name: "pm", tag: "1" } });
    await image("localhost:5000/pm:2", "/elsewhere"); // a name with a host is never looked up elsewhere
    await expect(store.getImage("pm:2")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("a manifest or config tampered on disk is refused (EDIGEST)", async () => {
    const d = await image("t", "/t");
    const text = readFileSync(store.layout.blob(d), "utf8");
    expect(text).toContain('"schemaVersion":1');
    writeFileSync(store.layout.blob(d), text.replace('"schemaVersion":1', '"schemaVersion":2'));
    await expect(store.getImage("t")).rejects.toMatchObject({ code: "EDIGEST" });
    writeFileSync(store.layout.blob(d), text);
    const cfg = (await store.getImage("t")).manifest.config.digest;
    writeFileSync(store.layout.blob(cfg), readFileSync(store.layout.blob(cfg), "utf8").replace("/t", "/x"));
    await expect(store.getImage("t")).rejects.toMatchObject({ code: "EDIGEST" });
    expect(existsSync(store.layout.blob(d))).toBe(true);
  });
});
