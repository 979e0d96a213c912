// Pure: `minic build --arg NAME=VALUE` parsed into the build's arguments (read by recipes with arg()).
import { MinicError } from "./errors.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The arguments, by name (the last of a repeated name wins, as with docker's --build-arg). Throws EUSAGE. */
export function parseBuildArgs(flags: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of flags) {
    const eq = f.indexOf("=");
    const name = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !NAME.test(name)) {
      throw new MinicError("EUSAGE", `--arg '${f}' is not NAME=VALUE`, { hint: "e.g. --arg VERSION=1.2 (a name of letters, digits and _)" });
    }
    out.set(name, f.slice(eq + 1));
  }
  return out;
}
