// Pure: podman's --env-file format: one NAME=VALUE per line (the value as written, quotes and
// all), a NAME alone takes the host's value, blank lines and lines starting with # are skipped.
import { MinicError } from "./errors.js";
import { ENV_NAME_HINT, isEnvName } from "./image.js";

/** The entries of an env file, in order, as -e takes them (`NAME=VALUE` or `NAME`); EUSAGE names file:line of a bad one. */
export function envFileEntries(text: string, file: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.replace(/^\uFEFF/, "").split("\n").entries()) {
    const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
    if (line.includes("\0")) throw new MinicError("EUSAGE", `${file}:${i + 1}: the line holds a NUL byte`, { hint: "an env file is text: NAME=VALUE lines" });
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line.trimEnd() : line.slice(0, eq);
    if (!isEnvName(name)) {
      throw new MinicError("EUSAGE", `${file}:${i + 1}: '${name}' is not an environment variable name`, { hint: `${ENV_NAME_HINT}; a line is NAME=VALUE, NAME (the host's value) or a # comment` });
    }
    out.push(eq < 0 ? name : line);
  }
  return out;
}
