// The link farm of a deep stack is made idempotently: a build's second run step reuses it.
import { afterEach, describe, expect, it } from "vitest";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { makeLinkFarm, overlayStack } from "../../src/runtime/stack-options.js";
import { tempDir } from "../helpers/cli.js";

let t: { path: string; remove(): void };
afterEach(() => t?.remove());

describe("makeLinkFarm", () => {
  it("can be called again for the same stack (second run step) and repoints a changed link", () => {
    t = tempDir("minic-farm-");
    const layers = Array.from({ length: 60 }, (_, i) => `/var/lib/some/long/store/path/unpacked/${String(i).padStart(64, "0")}`);
    const stack = overlayStack(layers, { dir: t.path, upper: join(t.path, "upper"), work: join(t.path, "work") });
    expect(stack.links).toHaveLength(60); // too deep for absolute paths in one page
    makeLinkFarm(t.path, stack.links);
    expect(() => makeLinkFarm(t.path, stack.links)).not.toThrow();
    const moved = stack.links.map((l, i) => (i === 0 ? { ...l, target: "/elsewhere" } : l));
    makeLinkFarm(t.path, moved);
    expect(readlinkSync(join(t.path, "l/0"))).toBe("/elsewhere");
    expect(readlinkSync(join(t.path, "l/59"))).toBe(layers[59]);
  });
});
