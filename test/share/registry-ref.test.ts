// The name a pull stores without -t: the whole reference, as podman keeps it.
import { describe, expect, it } from "vitest";
import { formatRef } from "../../src/core/reference.js";
import { parseRegistryRef, pulledName } from "../../src/share/registry-ref.js";

describe("pulledName", () => {
  it("is HOST[:PORT]/REPO:TAG, and HOST[:PORT]/REPO:sha256-<12 hex> for a digest", () => {
    expect(formatRef(pulledName(parseRegistryRef("127.0.0.1:15555/qa/pm:1")))).toBe("127.0.0.1:15555/qa/pm:1");
    expect(formatRef(pulledName(parseRegistryRef("127.0.0.1:15555/qa/pm")))).toBe("127.0.0.1:15555/qa/pm:latest");
    expect(formatRef(pulledName(parseRegistryRef("[::1]:5000/pm:2")))).toBe("[::1]:5000/pm:2");
    const d = `sha256:0123456789ab${"e".repeat(52)}`;
    expect(formatRef(pulledName(parseRegistryRef(`localhost:5000/qa/pm@${d}`)))).toBe("localhost:5000/qa/pm:sha256-0123456789ab");
  });

  it("parses hosts and tags with the image name grammar", () => {
    expect(parseRegistryRef("[::1]:5000/qa/pm:1")).toEqual({ host: "[::1]:5000", repository: "qa/pm", reference: "1" });
    expect(() => parseRegistryRef("reg-.example.com/pm")).toThrow(/not a registry host/);
    expect(() => parseRegistryRef("127.0.0.1:5000/pm:-x")).toThrow(/malformed tag/);
  });
});
