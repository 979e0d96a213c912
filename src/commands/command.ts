// What every subcommand file exports, and the context the CLI hands it.
import type { ParseArgsConfig } from "node:util";
import { MinicError } from "../core/errors.js";
import { parseRef, type ImageRef } from "../core/reference.js";
import { compileFormat, tableHeader, type FieldAliases, type Printer } from "../core/format-template.js";
import type { Store } from "../store/store.js";
import type { StoreLocation } from "../store/store-location.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** A string option's value, or undefined when it was not given. */
export const str = (v: Values[string]): string | undefined => (typeof v === "string" ? v : undefined);

/** The name a `-t NAME[:TAG]` (or what `label` names) gives, or undefined; a bad one is a usage error (exit 2), as a bad --memory is. */
export function tagOption(v: Values[string], label = "-t"): ImageRef | undefined {
  if (typeof v !== "string") return undefined;
  try {
    return parseRef(v);
  } catch (e) {
    throw e instanceof MinicError ? new MinicError("EUSAGE", `${label}: ${e.message}`, { hint: e.hint }) : e;
  }
}

/** How `--format` says to print: podman's `json` (as --json), or a template, `table …` with a header line. */
export type Format = { kind: "json" } | { kind: "template"; header?: string; line: Printer };

/** What `--format F` asks for (see format-template.ts), or undefined; with --json too, a usage error. */
export function formatOption(values: Values, aliases?: FieldAliases): Format | undefined {
  const f = str(values.format);
  if (f === undefined) return undefined;
  if (values.json) throw new MinicError("EUSAGE", "--json and --format both say how to print", { hint: "give one of them" });
  if (f.trim() === "json") return { kind: "json" };
  if (f.trim() === "table") return undefined; // podman's default table: the command's own
  const table = /^table\s+/.exec(f);
  const body = table ? f.slice(table[0].length) : f;
  return { kind: "template", header: table ? tableHeader(body) : undefined, line: compileFormat(body, aliases) };
}

/** Prints `rows` as `format` says: JSON, or one line per row (after the header of a table). */
export function printFormatted(ctx: Pick<Context, "out">, format: Format, rows: unknown): void {
  if (format.kind === "json") return ctx.out(JSON.stringify(rows, null, 2));
  const all = Array.isArray(rows) ? rows : [rows];
  format.line.check(all); // a field no row has is a typo: refused before anything is printed
  if (format.header !== undefined) ctx.out(format.header);
  for (const r of all) ctx.out(format.line(r));
}

export interface Context {
  /**
   * Opens the store storeLocation() names; `{ create: false }` for commands that only read it,
   * so that they leave no empty store behind.
   */
  store(opts?: { create?: boolean }): Promise<Store>;
  /** Which store this command uses and why (--store, MINIC_STORE, the checkout's, the machine's). */
  storeLocation(): StoreLocation;
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr (progress, notes). */
  err(line: string): void;
  /** True when stderr is a terminal (spinners allowed). */
  tty: boolean;
  /** Working directory the command resolves relative paths against. */
  cwd: string;
}

export interface Command {
  name: string;
  /** One line for `minic help`. */
  summary: string;
  /** Usage line after `minic NAME`. */
  usage: string;
  options: Options;
  /** Other names of its options, as podman spells them (`-v` → `--bind`): each word becomes the option's own before parsing. */
  aliases?: Readonly<Record<string, string>>;
  /** Takes no arguments besides its options (the CLI refuses any: they would be ignored). */
  noArgs?: boolean;
  /** Allows arguments after `--` to reach `positionals` untouched. */
  passthrough?: boolean;
  /**
   * The command handles SIGINT/SIGTERM itself (run passes them to the container's PID 1);
   * otherwise the CLI passes them to every program minic started and cleans up.
   */
  ownsSignals?: boolean;
  /** Runs the command; returns the exit status. Throws MinicError for user errors. */
  run(values: Values, positionals: string[], ctx: Context): Promise<number>;
}
