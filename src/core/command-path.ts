// Pure: where a container's command may be found in the image, as execvp looks for it.
/** The PATH nspawn gives a container whose environment sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The in-image paths `cmd` may name, in lookup order: itself when it holds a '/' (resolved
 * against `workdir` when relative), else each directory of the environment's PATH (`env` as
 * `K=V` strings; relative PATH entries are skipped).
 */
export function commandCandidates(cmd: string, env: readonly string[], workdir: string): string[] {
  if (cmd.includes("/")) return [normalise(cmd.startsWith("/") ? cmd : `${workdir}/${cmd}`)];
  const path = env.find((e) => e.startsWith("PATH="))?.slice(5) ?? DEFAULT_PATH;
  return path.split(":").filter((d) => d.startsWith("/")).map((d) => normalise(`${d}/${cmd}`));
}

/** `/a/./b/../c` → `/a/c`; `..` stops at the root, as it does in the container. */
function normalise(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return "/" + parts.join("/");
}
