// What podman users type out of habit: tag, images -q, ps -a, --format, and run's --rm, -i, -t
// (taken for what minic does anyway) and -d (refused in one line: minic has no daemon).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minic, minicOk, tempDir } from "../helpers/cli.js";

const t = tempDir("minic-habits-");
afterAll(() => t.remove());
const S = ["--store", join(t.path, "s")];
let digest = "";

beforeAll(async () => {
  const d = join(t.path, "tree");
  mkdirSync(d);
  writeFileSync(join(d, "f"), "habits\n");
  digest = (await minicOk(["import", d, "-t", "hab:1", ...S])).stdout.trim().split(" ")[1]!;
});

describe("podman habits", () => {
  it("tag gives an image more names, by name or by ID, and writes none when one is bad", async () => {
    expect((await minicOk(["tag", "hab:1", "hab:2", "registry.example:5000/team/hab:3", ...S])).stdout).toBe("");
    await minicOk(["tag", digest.slice(7, 19), "byid", ...S]);
    const names = JSON.parse((await minicOk(["images", "--json", ...S])).stdout).map((r: { name: string; tag: string; manifest: string }) => `${r.name}:${r.tag} ${r.manifest}`);
    expect(names).toEqual([`byid:latest ${digest}`, `hab:1 ${digest}`, `hab:2 ${digest}`, `registry.example:5000/team/hab:3 ${digest}`]);
    const bad = await minic(["tag", "hab:1", "hab:4", "Bad:Name", ...S]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^minic: tag: invalid image name 'Bad:Name' \(hint: /);
    expect((await minicOk(["images", "-q", ...S])).stdout).toBe(digest.slice(7, 19));
    const missing = await minic(["tag", "nope:1", "x", ...S]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^minic: no image 'nope:1' in store .*\(hint: /);
    const usage = await minic(["tag", "hab:1", ...S]);
    expect([usage.exitCode, usage.stderr.split(" (hint")[0]]).toEqual([2, "minic: tag needs a SOURCE image and at least one TARGET name"]);
  });

  it("inspect, images and ps print through --format", async () => {
    const out = await minicOk(["inspect", "-f", "{{.Id}} {{.Config.Cmd}} {{json .Config.Env}} {{.Architecture}}", "hab:1", ...S]);
    expect(out.stdout).toBe(`${digest.slice(7)} [/bin/sh] ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] amd64`);
    expect((await minicOk(["images", "--format", "{{.Name}}:{{.Tag}}\\t{{.ID}}", ...S])).stdout.split("\n")[1]).toBe(`hab:1\t${digest.slice(7, 19)}`);
    expect((await minicOk(["ps", "-a", "--format", "{{.Id}}", ...S])).stdout).toBe("");
    // podman's names for what minic calls otherwise
    expect((await minicOk(["inspect", "--format", "{{.Config.WorkingDir}} {{.RepoTags}} {{.Digest}} {{.Os}}", "hab:1", ...S])).stdout).toBe(`/ [hab:1 byid:latest hab:2 registry.example:5000/team/hab:3] ${digest} linux`);
    expect((await minicOk(["images", "--format", "{{.Repository}}:{{.Tag}}", ...S])).stdout.split("\n")[1]).toBe("hab:1");
    expect((await minicOk(["images", "--format", "{{.Digest}}", ...S])).stdout.split("\n")[1]).toBe(digest);
    const bad = await minic(["inspect", "--format", "{{.Config.StopSignal}}", "hab:1", ...S]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^minic: --format '\{\{\.Config\.StopSignal\}\}' has no field \.StopSignal of \.Config \(there are: .*workdir\) \(hint: /);
    expect(bad.stdout).toBe("");
    // podman's `json` and `table …` forms
    expect(JSON.parse((await minicOk(["images", "--format", "json", ...S])).stdout)).toEqual(JSON.parse((await minicOk(["images", "--json", ...S])).stdout));
    expect(JSON.parse((await minicOk(["inspect", "--format", "json", "hab:1", ...S])).stdout)).toMatchObject({ manifest: digest });
    expect((await minicOk(["images", "--format", "table {{.Repository}}\\t{{.ID}}", ...S])).stdout.split("\n").slice(0, 3)).toEqual(["REPOSITORY\tID", `byid\t${digest.slice(7, 19)}`, `hab\t${digest.slice(7, 19)}`]);
    expect((await minicOk(["ps", "--format", "table {{.ID}} {{.Names}}", ...S])).stdout).toBe("ID NAMES");
    const both = await minic(["images", "--json", "--format", "{{.ID}}", ...S]);
    expect([both.exitCode, both.stdout]).toEqual([2, ""]);
  });

  it("load -i FILE (podman's spelling) loads the file; a FILE as well is one too many", async () => {
    const tar = join(t.path, "hab.tar");
    await minicOk(["save", "hab:1", "-o", tar, ...S]);
    expect((await minicOk(["load", "-i", tar, "-t", "loaded:1", ...S])).stdout.trim()).toBe(`loaded:1 ${digest}`);
    const two = await minic(["load", "--input", tar, tar, ...S]);
    expect([two.exitCode, two.stderr.split(" (hint")[0]]).toEqual([2, "minic: load takes one FILE"]);
  });

  it("podman's commands minic has not say what to do instead", async () => {
    for (const [cmd, hint] of [["stop", /'minic rm -f NAME' stops a container/], ["exec", /minic has no exec/], ["logs", /a container.s output goes where/], ["version", /'minic --version'/]] as const) {
      const r = await minic([cmd, "x", ...S]);
      expect([r.exitCode, r.stderr.trim()]).toEqual([2, expect.stringMatching(new RegExp(`^minic: unknown command '${cmd}' \\(hint: ${hint.source}`))]);
    }
    expect((await minic(["frobnicate"])).stderr.trim()).toBe("minic: unknown command 'frobnicate' (hint: see 'minic help')");
  });

  it("run -d is refused in one line, before anything is set up", async () => {
    const r = await minic(["run", "-d", "--name", "web", "hab:1", "/bin/true", ...S]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^minic: minic runs a container in the foreground: .* \(hint: start it in the background from the shell/);
  });
});

describe("podman's forms of run and import arguments", () => {
  it("--entrypoint takes podman's JSON array too; a bad one is one line", async () => {
    const { entrypointFlag } = await import("../../src/runtime/run-spec.js");
    expect(entrypointFlag('["/bin/echo","a b"]')).toEqual(["/bin/echo", "a b"]);
    expect(entrypointFlag("/bin/echo")).toEqual(["/bin/echo"]);
    expect(entrypointFlag("")).toEqual([]);
    expect(() => entrypointFlag('["/bin/echo",1]')).toThrow(`--entrypoint '["/bin/echo",1]' is not a JSON array of words`);
    expect(() => entrypointFlag('[""]')).toThrow(/is not a JSON array of words/);
    // No JSON: one word, as podman takes it (`[` is a command).
    expect(entrypointFlag("[")).toEqual(["["]);
    expect(entrypointFlag("[x")).toEqual(["[x"]);
  });

  it("import of '-' or of a URL says what to do instead (it named a file that does not exist)", async () => {
    const dash = await minic(["import", "-", "-t", "x", ...S]);
    expect([dash.exitCode, dash.stderr.split(" (hint")[0]]).toEqual([2, "minic: import reads a file or a directory, not stdin ('-')"]);
    const url = await minic(["import", "https://example.com/rootfs.tar", "-t", "x", ...S]);
    expect([url.exitCode, url.stderr.split(" (hint")[0]]).toEqual([2, "minic: import reads a local file or directory, not a URL ('https://example.com/rootfs.tar')"]);
  });
});
