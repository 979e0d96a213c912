// nspawn's "terminated by signal" line: read, and taken out of the relayed stderr.
import { describe, expect, it } from "vitest";
import { NspawnStderrRelay, nspawnSignalLine, relayNspawnStderr } from "../../src/runtime/signal-exit.js";

describe("nspawn's signal line", () => {
  it("names the signal of its own machine's line only", () => {
    expect(nspawnSignalLine("Container web terminated by signal KILL.", "web")).toBe(9);
    expect(nspawnSignalLine("Container web terminated by signal SEGV.", "web")).toBe(11);
    for (const l of ["Container db terminated by signal KILL.", "Container web terminated by signal BOGUS.", "Container web terminated by signal KILL", "xContainer web terminated by signal KILL."]) {
      expect(nspawnSignalLine(l, "web")).toBeUndefined();
    }
  });

  it("relays everything but a last line that is nspawn's; output after it shows it was the container's", () => {
    const out: string[] = [];
    const relay = new NspawnStderrRelay("web", (b) => out.push(b.toString()));
    relay.push(Buffer.from("partial"));
    relay.push(Buffer.from(" line\nerr\nContainer web terminated by signal KILL.\n"));
    expect([out.join(""), relay.signal()]).toEqual(["partial line\nerr\n", 9]);
    relay.push(Buffer.from("more\n"));
    expect([out.join(""), relay.signal()]).toEqual(["partial line\nerr\nContainer web terminated by signal KILL.\nmore\n", undefined]);
  });

  it("is relayed with a terminal console always, with a pipe console only when stderr is no terminal", () => {
    expect([relayNspawnStderr(true, true), relayNspawnStderr(true, false), relayNspawnStderr(false, false), relayNspawnStderr(false, true)]).toEqual([true, true, true, false]);
  });
});
