// The --format templates of inspect, images and ps: podman's common forms, Go's %v, one-line refusals.
import { describe, expect, it } from "vitest";
import { compileFormat, tableHeader } from "../../src/core/format-template.js";
import { MinicError } from "../../src/core/errors.js";

const image = { id: "ab12", config: { env: ["A=1", "B=2"], cmd: ["/bin/sh", "-c", "x y"], labels: { z: "1", a: "2" }, user: "" }, size: 42, ok: true, none: null };

function refusal(format: string, value: unknown = image): string {
  try {
    compileFormat(format).check([value]);
  } catch (e) {
    expect(e).toBeInstanceOf(MinicError);
    expect((e as MinicError).code).toBe("EUSAGE");
    return (e as MinicError).message;
  }
  throw new Error(`'${format}' was not refused`);
}

describe("--format TEMPLATE", () => {
  it("finds fields case-insensitively and prints them as Go's %v", () => {
    expect(compileFormat("{{.Id}} {{.Config.Env}} {{.Config.Labels}} {{.Size}} {{.Ok}} {{.None}}")(image)).toBe("ab12 [A=1 B=2] map[a:2 z:1] 42 true <no value>");
    expect(compileFormat("{{ .config.user }}|")(image)).toBe("|");
  });

  it("prints {{json .X}} and {{.}} as JSON and %v, and takes podman's \\t and \\n", () => {
    expect(compileFormat("{{json .Config.Cmd}}")(image)).toBe('["/bin/sh","-c","x y"]');
    expect(compileFormat("{{json .}}")({ a: 1 })).toBe('{"a":1}');
    expect(compileFormat("{{.}}")(["x", 1])).toBe("[x 1]");
    expect(compileFormat("{{.Id}}\\t{{.Size}}\\n")(image)).toBe("ab12\t42\n");
    expect(compileFormat("{{- .Id -}}")(image)).toBe("ab12");
  });

  it("refuses what it cannot do, saying which fields there are", () => {
    expect(refusal("{{.Config.WorkingDir}}")).toBe("--format '{{.Config.WorkingDir}}' has no field .WorkingDir of .Config (there are: env, cmd, labels, user)");
    expect(refusal("{{.Nope}}")).toMatch(/has no field \.Nope \(there are: id, config, size, ok, none\)$/);
    expect(refusal("{{.Size.Bytes}}")).toMatch(/\.Size has no fields, so no \.Bytes$/);
    expect(refusal("{{range .Config.Env}}{{.}}{{end}}")).toMatch(/cannot do \{\{range \.Config\.Env\}\}/);
    expect(refusal("{{.Id")).toMatch(/has an unclosed \{\{ or a stray \}\}$/);
    expect(refusal("{{index .Config.Labels \"a\"}}")).toMatch(/cannot do/);
  });

  it("takes the command's names for podman's fields (Config.WorkingDir for config.workdir)", () => {
    const f = compileFormat("{{.Config.WorkingDir}} {{.repository}} {{.Config.User}}|", { "config.workingdir": "config.workdir", repository: "id" });
    expect(f({ ...image, config: { ...image.config, workdir: "/srv" } })).toBe("/srv ab12 |");
  });

  it("makes podman's table header from the fields' last names", () => {
    expect(tableHeader("{{.Repository}}\\t{{ .Config.Env }} {{json .Id}} {{.}}")).toBe("REPOSITORY\tENV ID VALUE");
  });

  it("prints <no value> for a field one row lacks (an optional one), and refuses one that no row has", () => {
    const f = compileFormat("{{.Name}} {{.Address}}");
    const rows = [{ name: "a", address: "10.0.0.2" }, { name: "b" }];
    f.check(rows);
    expect(rows.map(f)).toEqual(["a 10.0.0.2", "b <no value>"]);
    expect(() => compileFormat("{{.Nme}}").check(rows)).toThrow("--format '{{.Nme}}' has no field .Nme (there are: name, address)");
    compileFormat("{{.Anything}}").check([]); // no rows: nothing to print, nothing to check against
  });

  it("refuses a bad template before any value is printed", () => {
    expect(() => compileFormat("{{if .x}}")).toThrow(/cannot do/);
  });
});
