// What a loaded image is named: minic's own tarballs keep their names, other tools' tarballs are
// named as `podman load` names them (whole reference, localhost/ before a name without a host).
import { describe, expect, it } from "vitest";
import { foreignArchiveRef, ownArchiveRef } from "../../src/share/archive-name.js";

describe("names found in a tarball", () => {
  it("keeps the registry host of another tool's name and puts localhost/ before a name without one", () => {
    expect(foreignArchiveRef("localhost/pm:1")).toEqual({ name: "localhost/pm", tag: "1" });
    expect(foreignArchiveRef("127.0.0.1:15555/qa/pm:1")).toEqual({ name: "127.0.0.1:15555/qa/pm", tag: "1" });
    expect(foreignArchiveRef("127.0.0.1:15555/qa/pm")).toEqual({ name: "127.0.0.1:15555/qa/pm", tag: "latest" });
    expect(foreignArchiveRef("app:1")).toEqual({ name: "localhost/app", tag: "1" });
    expect(foreignArchiveRef("ns/app:1")).toEqual({ name: "localhost/ns/app", tag: "1" });
    expect(foreignArchiveRef("docker.io/library/debian:12")).toEqual({ name: "docker.io/library/debian", tag: "12" });
    expect(foreignArchiveRef("docker.io/debian:12")).toEqual({ name: "docker.io/library/debian", tag: "12" });
    expect(foreignArchiveRef("index.docker.io/debian")).toEqual({ name: "docker.io/library/debian", tag: "latest" });
  });

  it("names a digest-only reference after the digest, keeps the tag of name:tag@digest", () => {
    const d = `sha256:0123456789ab${"f".repeat(52)}`;
    expect(foreignArchiveRef(`reg.example.com/app@${d}`)).toEqual({ name: "reg.example.com/app", tag: "sha256-0123456789ab" });
    expect(foreignArchiveRef(`app:2@${d}`)).toEqual({ name: "localhost/app", tag: "2" });
  });

  it("takes a bare word as a name under localhost/, as podman load does (skopeo writes 'myapp' for oci-archive:F:myapp)", () => {
    expect(foreignArchiveRef("myapp")).toEqual({ name: "localhost/myapp", tag: "latest" });
    expect(foreignArchiveRef("1.0")).toEqual({ name: "localhost/1.0", tag: "latest" });
  });

  it("gives no name for an invalid name or a non-string", () => {
    expect(foreignArchiveRef("My App")).toBeUndefined();
    expect(foreignArchiveRef("localhost/App:1")).toBeUndefined();
    expect(foreignArchiveRef(42)).toBeUndefined();
    expect(foreignArchiveRef(undefined)).toBeUndefined();
  });

  it("keeps minic's own names exactly: no localhost/ added", () => {
    expect(ownArchiveRef("hello:latest")).toEqual({ name: "hello", tag: "latest" });
    expect(ownArchiveRef("127.0.0.1:5000/qa/pm:1")).toEqual({ name: "127.0.0.1:5000/qa/pm", tag: "1" });
    expect(ownArchiveRef("Bad")).toBeUndefined();
    expect(ownArchiveRef(null)).toBeUndefined();
  });
});
