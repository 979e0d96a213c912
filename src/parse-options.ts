// A command's options parsed with node:util parseArgs, its errors worded as minic's own.
import { parseArgs } from "node:util";
import { MinicError } from "./core/errors.js";
import type { Options } from "./commands/command.js";

/** What parseOptions returns: option values and positionals. */
export type Parsed = { values: Record<string, unknown>; positionals: string[] };

/**
 * Parses `args` against `options` (strict, positionals allowed). A value that starts with '-'
 * (`--memory -5M`, `-e -X`) is taken as the option's value, for the option's own check to judge,
 * unless it is `--` or one of the command's options: then the option's value is missing.
 * Throws EUSAGE, with `usage` as the hint, for unknown options and missing or unwanted values.
 */
export function parseOptions(args: readonly string[], options: Options, usage: string): Parsed {
  const hint = `usage: ${usage}`;
  try {
    return parseArgs({ args: joinDashValues(args, options, hint), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new MinicError("EUSAGE", wording(e as Error & { code?: string }), { hint, cause: e });
  }
}

/** The long name of the option `word` names (`--memory`, `--memory=1`, `-m`), or undefined. */
function optionOf(word: string, options: Options): string | undefined {
  if (word.startsWith("--")) {
    const name = word.slice(2).split("=")[0]!;
    return Object.hasOwn(options, name) ? name : undefined;
  }
  if (/^-[^-]$/.test(word)) return Object.keys(options).find((k) => options[k]!.short === word[1]);
  return undefined;
}

function joinDashValues(args: readonly string[], options: Options, hint: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = a.includes("=") ? undefined : optionOf(a, options);
    const next = args[i + 1];
    if (name === undefined || options[name]!.type !== "string" || next === undefined || !next.startsWith("-") || next === "-") {
      out.push(a);
      continue;
    }
    if (next === "--" || optionOf(next, options) !== undefined) {
      throw new MinicError("EUSAGE", `option '--${name}' needs a value`, { hint });
    }
    out.push(`--${name}=${next}`);
    i++;
  }
  return out;
}

/** One line for a parseArgs error (its own are several sentences, one of them with a stray quote). */
function wording(e: Error & { code?: string }): string {
  const opt = /'([^']*)'/.exec(e.message)?.[1] ?? "";
  const name = opt.split(",")[0]!.trim().split(" ")[0]!; // "-m, --memory <value>" → "-m"
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option '${name}'`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(e.message)) return `option '${longName(opt)}' needs a value`;
    if (/does not take an argument/.test(e.message)) return `option '${name}' takes no value`;
  }
  return e.message.split("\n")[0]!;
}

/** "-m, --memory <value>" → "--memory"; "--memory" stays. */
function longName(opt: string): string {
  return /--[^\s,<]+/.exec(opt)?.[0] ?? opt.split(" ")[0]!;
}
