// Where a container's command is looked for: itself with a '/', else each absolute PATH entry.
import { describe, expect, it } from "vitest";
import { commandCandidates, DEFAULT_PATH } from "../../src/core/command-path.js";

describe("commandCandidates", () => {
  it("takes a path as it is (relative to the workdir), a name through PATH or nspawn's default", () => {
    expect(commandCandidates("/bin/sh", ["PATH=/x"], "/srv")).toEqual(["/bin/sh"]);
    expect(commandCandidates("./run.sh", [], "/srv/app")).toEqual(["/srv/app/run.sh"]);
    expect(commandCandidates("../../../x", [], "/srv")).toEqual(["/x"]);
    expect(commandCandidates("sh", ["A=1", "PATH=/opt/bin:relative:/bin/"], "/")).toEqual(["/opt/bin/sh", "/bin/sh"]);
    expect(commandCandidates("sh", [], "/")).toEqual(DEFAULT_PATH.split(":").map((d) => `${d}/sh`));
  });
});
