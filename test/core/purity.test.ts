// src/core is pure: no filesystem, no child processes, no clock. This test reads every
// src/core/*.ts and fails on an import (static, dynamic or require) of node:fs,
// node:child_process or execa, and on reading the clock.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/cli.js";

const CORE = join(ROOT, "src", "core");
const FORBIDDEN = /^(node:)?(fs|fs\/promises|child_process)$|^execa(\/.*)?$/;
// import ... from "x" | export ... from "x" | import "x" | import("x") | require("x")
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'`]([^"'`]+)["'`]/g;
const CLOCK = /\bDate\.now\s*\(|\bnew\s+Date\s*\(\s*\)|\bperformance\.now\s*\(|\bprocess\.hrtime\b/;

/** The module specifiers a source file imports. */
export function importsOf(source: string): string[] {
  const noComments = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  return [...noComments.matchAll(SPECIFIERS)].map((m) => m[1]!);
}

describe("src/core is pure", () => {
  const files = readdirSync(CORE).filter((f) => f.endsWith(".ts"));

  it("has files to check", () => {
    expect(files.length).toBeGreaterThan(3);
  });

  it.each(files)("%s imports no fs, child_process or execa", (f) => {
    const bad = importsOf(readFileSync(join(CORE, f), "utf8")).filter((s) => FORBIDDEN.test(s));
    expect(bad, `${f} imports ${bad.join(", ")}`).toEqual([]);
  });

  it.each(files)("%s does not read the clock", (f) => {
    const src = readFileSync(join(CORE, f), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
    expect(CLOCK.test(src), `${f} reads the clock; pass time in`).toBe(false);
  });

  it("the check itself catches every import form", () => {
    const sample = [
      'import { readFileSync } from "node:fs";',
      "import * as fs from 'fs/promises';",
      'export { spawn } from "node:child_process";',
      'const m = await import("execa");',
      'const cp = require("child_process");',
      'import "node:fs";',
      'import type { Options } from "execa";',
    ].join("\n");
    expect(importsOf(sample).filter((s) => FORBIDDEN.test(s))).toHaveLength(7);
    expect(importsOf('import { createHash } from "node:crypto"; // from "node:fs"').filter((s) => FORBIDDEN.test(s))).toEqual([]);
  });
});
