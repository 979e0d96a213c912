// Image names as podman writes them: the registry host is part of the name, and a port's ':' is
// never a tag separator.
import { describe, expect, it } from "vitest";
import { oneLine } from "../../src/core/errors.js";
import { digestTag, domainOf, formatRef, parseRef, withLocalhost } from "../../src/core/reference.js";

describe("parseRef", () => {
  it("keeps the registry host and port in the name; the tag is after the last ':' only when no '/' follows it", () => {
    expect(parseRef("127.0.0.1:15555/qa/pm:1")).toEqual({ name: "127.0.0.1:15555/qa/pm", tag: "1" });
    expect(parseRef("127.0.0.1:15555/qa/pm")).toEqual({ name: "127.0.0.1:15555/qa/pm", tag: "latest" });
    expect(parseRef("localhost:5000/a:1")).toEqual({ name: "localhost:5000/a", tag: "1" });
    expect(parseRef("localhost/pm:1")).toEqual({ name: "localhost/pm", tag: "1" });
    expect(parseRef("[::1]:5000/x/y:2")).toEqual({ name: "[::1]:5000/x/y", tag: "2" });
    expect(parseRef("Registry.Example.com/apps/web")).toEqual({ name: "Registry.Example.com/apps/web", tag: "latest" });
    expect(parseRef("hello")).toEqual({ name: "hello", tag: "latest" });
    expect(parseRef("apps/web:1.0")).toEqual({ name: "apps/web", tag: "1.0" });
    // No '/': the first ':' is a tag, as in docker (`localhost:5000` is image localhost, tag 5000).
    expect(parseRef("localhost:5000")).toEqual({ name: "localhost", tag: "5000" });
    expect(formatRef(parseRef("127.0.0.1:15555/qa/pm"))).toBe("127.0.0.1:15555/qa/pm:latest");
  });

  it("tells a registry host from a first path component as docker does", () => {
    expect(domainOf("127.0.0.1:15555/qa/pm")).toBe("127.0.0.1:15555");
    expect(domainOf("localhost/pm")).toBe("localhost");
    expect(domainOf("reg.example.com/pm")).toBe("reg.example.com");
    expect(domainOf("qa/pm")).toBeUndefined();
    expect(domainOf("localhost")).toBeUndefined();
  });

  it.each([
    ["Hello", /lowercase: 'hello'/],
    ["apps/Web:1", /lowercase: 'apps\/web:1'/],
    ["127.0.0.1:15555/qa/PM:1", /lowercase: '127\.0\.0\.1:15555\/qa\/pm:1'/],
    ["Localhost/pm", /lowercase: 'localhost\/pm'/],
    ["local_host:5000/x", /'local_host:5000' is not a registry host/],
    ["127.0.0.1:port/x", /'127\.0\.0\.1:port' is not a registry host/],
    [`127.0.0.1:5000/x@sha256:${"a".repeat(64)}`, /manifest digest alone/],
    [`sha256:${"f".repeat(64)}`, /name an image by its digest/],
    [`sha256:latest`, /name an image by its digest/],
    [`${"0".repeat(64)}:1`, /name an image by its digest/],
  ])("refuses '%s' with a one-line EREF and a hint", (s, hint) => {
    const err = (() => { try { parseRef(s); } catch (e) { return e; } })() as { code?: string; hint?: string };
    expect(err).toMatchObject({ code: "EREF" });
    expect(err.hint).toMatch(hint);
    expect(oneLine(err)).not.toMatch(/\n/);
  });

  it("refuses a name too long to be kept as one file name in the store (no crash later)", () => {
    expect(() => parseRef(Array(120).fill("a").join("/"))).toThrow(/too long/);
    expect(() => parseRef(`localhost:5000/${"a".repeat(250)}`)).toThrow(/too long/);
    expect(parseRef(`${"a".repeat(255)}:1`).name).toHaveLength(255);
  });
});

describe("localhost and digest names", () => {
  it("puts an unqualified name under localhost/, leaves a qualified one alone", () => {
    expect(withLocalhost(parseRef("pm:1"))).toEqual({ name: "localhost/pm", tag: "1" });
    expect(withLocalhost(parseRef("qa/pm"))).toEqual({ name: "localhost/qa/pm", tag: "latest" });
    expect(withLocalhost(parseRef("127.0.0.1:5000/qa/pm:1"))).toEqual({ name: "127.0.0.1:5000/qa/pm", tag: "1" });
    expect(withLocalhost(parseRef("localhost/pm:1"))).toEqual({ name: "localhost/pm", tag: "1" });
  });

  it("names a digest by its first 12 hex digits", () => {
    expect(digestTag(`sha256:0123456789ab${"f".repeat(52)}`)).toBe("sha256-0123456789ab");
  });
});
