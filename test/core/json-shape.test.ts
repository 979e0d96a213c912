// The shape checks every JSON document goes through before use: a wrong type is one line
// naming the member, never a TypeError later.
import { describe, expect, it } from "vitest";
import { CONFIG_SHAPE, MANIFEST_SHAPE } from "../../src/core/image-shapes.js";
import { arrayOf, checkShape, digest, int, nullable, object, optional, parseShaped, recordOf, shapedOrUndefined, str } from "../../src/core/json-shape.js";
import { DOCKER_ARCHIVE_SHAPE, OCI_CONFIG_SHAPE, OCI_INDEX_SHAPE, OCI_MANIFEST_SHAPE } from "../../src/core/oci-shapes.js";
import { defaultRunConfig } from "../../src/core/image.js";
import { MinicError, oneLine } from "../../src/core/errors.js";

const D = `sha256:${"a".repeat(64)}`;
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MinicError);
    return oneLine(e);
  }
  throw new Error("accepted");
};

describe("shapes", () => {
  const s = object({ a: str(), b: optional(arrayOf(int())), c: nullable(recordOf(str())), d: optional(digest) });

  it("accepts what fits and returns it as it is (other members kept)", () => {
    const v = { a: "x", c: null, extra: [1] };
    expect(checkShape(s, v, "doc", "fix it")).toBe(v);
    expect(checkShape(s, { a: "x", b: [0, 3], c: { k: "v" }, d: D }, "doc", "fix it").b).toEqual([0, 3]);
  });

  it("names the first wrong member, its type and what was expected, on one line with the hint", () => {
    expect(refusal(() => checkShape(s, { a: 1, c: null }, "index.json", "fix it"))).toBe("index.json is malformed: a is the number 1, not a string (hint: fix it)");
    expect(refusal(() => checkShape(s, { a: "x", b: [1, -2], c: null }, "doc", "h"))).toMatch(/: b\[1\] is the number -2, not an integer of at least 0 /);
    expect(refusal(() => checkShape(s, { a: "x", c: { k: 5 } }, "doc", "h"))).toMatch(/: c\.k is the number 5, not a string /);
    expect(refusal(() => checkShape(s, { a: "x" }, "doc", "h"))).toMatch(/: c is missing, not an object /);
    expect(refusal(() => checkShape(s, [], "doc", "h"))).toMatch(/doc is malformed: the document is an array, not an object/);
    expect(refusal(() => checkShape(s, { a: "x", c: null, d: "sha256:zz" }, "doc", "h"))).toMatch(/d is the string "sha256:zz", not a sha256 digest/);
    expect(refusal(() => parseShaped(s, "{", "manifest.json", "h"))).toBe("manifest.json is not valid JSON (hint: h)");
  });

  it("shapedOrUndefined drops a damaged record instead", () => {
    expect(shapedOrUndefined(s, { a: 1 })).toBeUndefined();
    expect(shapedOrUndefined(s, { a: "x", c: null })).toEqual({ a: "x", c: null });
  });
});

describe("the documents minic reads", () => {
  const desc = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: D, size: 10 };

  it("OCI index, manifest, config and docker manifest.json: the ill-typed members fuzzing found", () => {
    expect(refusal(() => checkShape(OCI_CONFIG_SHAPE, { os: "linux", architecture: "amd64", config: { Cmd: 5 }, rootfs: { type: "layers", diff_ids: [] } }, "config", "h"))).toMatch(/config\.Cmd is the number 5, not an array/);
    expect(refusal(() => checkShape(OCI_CONFIG_SHAPE, { os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [7] } }, "config", "h"))).toMatch(/rootfs\.diff_ids\[0\] is the number 7/);
    expect(refusal(() => checkShape(OCI_INDEX_SHAPE, { schemaVersion: 2, manifests: [{ ...desc, annotations: { "org.opencontainers.image.ref.name": 1 } }] }, "index.json", "h"))).toMatch(/manifests\[0\]\.annotations\.org\.opencontainers\.image\.ref\.name is the number 1/);
    expect(refusal(() => checkShape(OCI_MANIFEST_SHAPE, { schemaVersion: 2, config: desc, layers: [{ ...desc, size: "10" }] }, "m", "h"))).toMatch(/layers\[0\]\.size is the string "10", not an integer/);
    expect(refusal(() => checkShape(DOCKER_ARCHIVE_SHAPE, [{ Config: "c.json", RepoTags: [{}], Layers: [] }], "manifest.json", "h"))).toMatch(/\[0\]\.RepoTags\[0\] is an object, not a string/);
    // docker's nulls are fine
    const ok = { os: "linux", architecture: "amd64", config: { Cmd: null, Env: null, Entrypoint: null, Labels: null }, rootfs: { type: "layers", diff_ids: [D] }, history: null };
    expect(checkShape(OCI_CONFIG_SHAPE, ok, "config", "h")).toBe(ok);
  });

  it("minic manifest and config: a config that is not an object, or a run config of the wrong types, is refused", () => {
    const manifest = { schemaVersion: 1, mediaType: "application/vnd.minic.manifest.v1+json", config: { mediaType: "application/vnd.minic.config.v1+json", digest: D, size: 1 }, layers: [] };
    expect(checkShape(MANIFEST_SHAPE, manifest, "m", "h")).toBe(manifest);
    const config = { schemaVersion: 1, architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00.000Z", config: defaultRunConfig(), rootfs: { type: "layers", diffIds: [] }, history: [] };
    expect(checkShape(CONFIG_SHAPE, config, "c", "h")).toBe(config);
    expect(refusal(() => checkShape(CONFIG_SHAPE, "x", "c", "h"))).toMatch(/the document is the string "x", not an object/);
    expect(refusal(() => checkShape(CONFIG_SHAPE, { ...config, config: { ...config.config, limits: { pids: 0 } } }, "c", "h"))).toMatch(/config\.limits\.pids is the number 0/);
    expect(refusal(() => checkShape(CONFIG_SHAPE, { ...config, config: { ...config.config, env: "A=1" } }, "c", "h"))).toMatch(/config\.env is the string "A=1", not an array/);
  });
});
