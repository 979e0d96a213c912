// podman's --env-file format.
import { describe, expect, it } from "vitest";
import { envFileEntries } from "../../src/core/env-file.js";

describe("envFileEntries", () => {
  it("takes NAME=VALUE as written, NAME alone for the host's value, and skips blank and # lines", () => {
    expect(envFileEntries("# comment\nA=1\n\n  B=\"q x\"\r\nHOSTV\nC=a=b\nD=\n", "e.env")).toEqual(["A=1", 'B="q x"', "HOSTV", "C=a=b", "D="]);
  });

  it("skips a UTF-8 byte order mark and refuses a NUL byte", () => {
    expect(envFileEntries("\uFEFFA=1\n", "e.env")).toEqual(["A=1"]);
    expect(() => envFileEntries("A=1\nB=x\0y\n", "e.env")).toThrow("e.env:2: the line holds a NUL byte");
  });

  it("names file:line of a line that is no variable", () => {
    expect(() => envFileEntries("A=1\nA B=2\n", "e.env")).toThrow("e.env:2: 'A B' is not an environment variable name");
    expect(() => envFileEntries("=x\n", "e.env")).toThrow("e.env:1: '' is not an environment variable name");
  });
});
