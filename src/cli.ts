// argv → command → exit status. The only place that catches errors and picks an exit code.
import { constants } from "node:os";
import { isatty } from "node:tty";
import { MinicError, oneLine, printable } from "./core/errors.js";
import { faultError, isFault } from "./core/faults.js";
import type { Command, Context, Options } from "./commands/command.js";
import { storeLocation } from "./store/store-location.js";
import { parseOptions } from "./parse-options.js";
import { stderr, stdout } from "./util/stdio.js";

/** Name → loader of each subcommand, in the order `minic help` lists them. */
export type Registry = Record<string, () => Promise<Command>>;

const GLOBAL = {
  store: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs minic with `argv` (without node and script); returns the exit status. SIGINT, SIGTERM and
 * SIGHUP are passed on to the programs minic runs, so the command fails, cleans up (unmounts,
 * removes scratch space) and exits 128+signal; a second signal exits at once.
 */
export async function main(argv: string[], commands: Registry): Promise<number> {
  const ctx = makeContext(argv);
  let interrupted: NodeJS.Signals | undefined;
  ctx.handleSignals = () => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (interrupted) process.exit(128 + (constants.signals[sig] ?? 0));
      interrupted = sig;
      // A hang-up stops the programs as SIGTERM does (their own SIGHUP handling, if any, is not
      // a stop: nspawn died of it and left its container running).
      void import("./util/exec.js").then((m) => m.forwardSignal(sig === "SIGHUP" ? "SIGTERM" : sig));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // A closed terminal: the command stops as if interrupted, and cleans up first.
    process.on("SIGHUP", onSignal);
  };
  const code = await dispatch(argv, commands, ctx);
  if (interrupted) {
    ctx.err(`minic: interrupted by ${interrupted}`);
    return 128 + (constants.signals[interrupted] ?? 0);
  }
  return code;
}

type CliContext = Context & { storeRoot?: string; handleSignals?: () => void };

const RUN_ONLY = "minic starts a container with 'minic run' and removes it when its command ends";

/** What to do instead, for podman's commands minic has not (a daemonless tool's answers). */
const PODMAN_COMMANDS: Readonly<Record<string, string>> = {
  stop: "'minic rm -f NAME' stops a container: the stop signal, then a kill after its --stop-timeout or -t S (-t 0 kills at once)",
  kill: "'minic rm -f -t 0 NAME' kills a container at once",
  exec: "minic has no exec: a container holds only its command's processes; run another container from the image, or nsenter -a -t PID ('minic ps' shows it)",
  logs: "a container's output goes where the 'minic run' that started it writes: redirect it there (minic keeps no logs)",
  attach: "a container's terminal is that of the 'minic run' that started it",
  cp: "bind a host directory into the container (minic run -v DIR:/data …), or export the image's tree ('minic export IMAGE -o t.tar')",
  commit: "minic builds images from recipes: write the change as a recipe step ('minic build RECIPE.ts')",
  history: "'minic inspect IMAGE' shows each layer and what made it",
  version: "'minic --version', or 'minic info' for the install and the store",
  system: "'minic info' (the install and store), 'minic prune' (stale containers), 'minic gc' (unused layers)",
  start: RUN_ONLY,
  restart: RUN_ONLY,
  create: RUN_ONLY,
  wait: "'minic run' waits for its container and exits with its command's status",
};

/** Pure: whether option word `a` takes the next word as its value (`--memory`, `-m`, `-ite` but not `--memory=1`). */
function valueTaker(options: Options): (a: string) => boolean {
  const short = (c: string) => Object.values(options).find((o) => o.short === c);
  return (a) => {
    if (a.includes("=")) return false;
    if (a.startsWith("--")) return options[a.slice(2)]?.type === "string";
    // A group of short flags (-it, -ite K=V): the next word is a value when only its last letter takes one.
    const letters = [...a.slice(1)];
    return letters.slice(0, -1).every((c) => short(c)?.type === "boolean") && short(letters[letters.length - 1]!)?.type === "string";
  };
}

/**
 * Pure: `args` with a command's other names for its options (podman's `-v`/`--volume` for
 * `--bind`) written as the option's own, `--volume=X` too; a whole word may be named
 * (`--tls-verify=false` for `--insecure`; "" drops it); option values and everything from
 * `--` (or, for a command that runs one, from the image) on are left as they are.
 */
export function applyAliases(args: readonly string[], aliases: Readonly<Record<string, string>>, options: Options, passthrough: boolean): string[] {
  const takesValue = valueTaker(options);
  const out: string[] = [];
  const words = [...args];
  for (let i = 0; i < words.length; i++) {
    let a = words[i]!;
    if (a === "--" || (passthrough && (!a.startsWith("-") || a === "-"))) return [...out, ...words.slice(i)];
    // A group of short flags with an alias among them (-itv DIR:/x): one word per flag first.
    if (/^-[A-Za-z]{2,}$/.test(a) && [...a.slice(1)].some((c) => Object.hasOwn(aliases, `-${c}`))) {
      words.splice(i, 1, ...[...a.slice(1)].map((c) => `-${c}`));
      a = words[i]!;
    }
    if (a.startsWith("-") && a !== "-") {
      const eq = a.indexOf("=");
      const word = eq < 0 ? a : a.slice(0, eq);
      if (Object.hasOwn(aliases, a)) a = aliases[a]!; // a whole word (--tls-verify=false)
      else if (Object.hasOwn(aliases, word) && aliases[word] !== "") a = aliases[word]! + (eq < 0 ? "" : a.slice(eq));
      if (a === "") continue; // a word that asks for what minic does anyway
      out.push(a);
      if (takesValue(a) && i + 1 < words.length) out.push(words[++i]!);
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * For commands that run a command (`minic run [OPTIONS] IMAGE [COMMAND [ARG…]]`), as podman
 * reads them: the first positional is the image, and everything after it is the command's,
 * options and all (`minic run bb /bin/sh -c 'echo $A'`, `minic run app --verbose` for an image
 * with an entrypoint); a `--` right after the image (or before it, ending minic's options) is
 * dropped. minic's options stand before the image.
 */
export function splitCommand(args: string[], options: Options): [string[], string[]] {
  const takesValue = valueTaker(options);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args[i + 1] === undefined ? [args.slice(0, i), []] : [[...args.slice(0, i), args[i + 1]!], args.slice(i + 2)];
    if (a.startsWith("-") && a !== "-") {
      if (takesValue(a)) i++;
      continue;
    }
    const rest = args.slice(i + 1);
    return [args.slice(0, i + 1), rest[0] === "--" ? rest.slice(1) : rest];
  }
  return [args, []];
}

/**
 * Takes `--store DIR` / `--store=DIR` given before the command (`minic --store S images`):
 * returns the store given (if any) and the arguments from the command on.
 */
function leadingGlobals(args: string[]): { storeRoot?: string; rest: string[] } {
  let storeRoot: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--store") {
      if (args[i + 1] === undefined) throw new MinicError("EUSAGE", "--store needs a directory", { hint: "minic --store DIR COMMAND …" });
      storeRoot = args[++i];
    } else if (a.startsWith("--store=")) storeRoot = a.slice("--store=".length);
    else break;
  }
  return { storeRoot, rest: args.slice(i) };
}

/** Pure: the command word of `argv` (after global options), or undefined when there is none or argv is malformed. */
export function commandName(argv: string[]): string | undefined {
  try {
    return leadingGlobals(argv).rest[0];
  } catch {
    return undefined;
  }
}

async function dispatch(args: string[], commands: Registry, ctx: CliContext): Promise<number> {
  try {
    const globals = leadingGlobals(args);
    if (globals.storeRoot !== undefined) ctx.storeRoot = globals.storeRoot;
    const [name, ...rest] = globals.rest;
    if (name === "help" && rest[0] !== undefined && Object.hasOwn(commands, rest[0])) {
      return await runCommand(await commands[rest[0]]!(), ["--help"], ctx);
    }
    if (name === undefined || name === "help" || name === "--help" || name === "-h") {
      // Asked for: on stdout. Without a command it is a usage error: on stderr, as such.
      if (name === undefined) ctx.err(await usage(commands));
      else ctx.out(await usage(commands));
      return name === undefined ? 2 : 0;
    }
    if (name === "--version") {
      ctx.out(`minic ${(await import("./util/install.js")).minicVersion()}`);
      return 0;
    }
    const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!load) throw new MinicError("EUSAGE", `unknown command '${name}'`, { hint: PODMAN_COMMANDS[name] ?? "see 'minic help'" });
    return await runCommand(await load(), rest, ctx);
  } catch (thrown) {
    if ((thrown as NodeJS.ErrnoException).code === "EPIPE") return 141; // stdout closed by its reader
    // A full, failing or read-only disk: one line naming the path and what to do, exit 1.
    const e = isFault(thrown) ? faultError(thrown) : thrown;
    if (e instanceof MinicError && e.code === "EINTERRUPTED") return 1; // main says "interrupted by …"
    ctx.err(`minic: ${oneLine(e)}`);
    if (process.env.MINIC_DEBUG && e instanceof Error) ctx.err(e.stack ?? "");
    if (e instanceof MinicError && e.exitStatus !== undefined) return e.exitStatus;
    if (e instanceof MinicError && e.code === "EUSAGE") return 2;
    return e instanceof MinicError ? 1 : 70;
  }
}

async function runCommand(cmd: Command, args: string[], ctx: CliContext): Promise<number> {
  if (!cmd.ownsSignals) ctx.handleSignals?.();
  const options = { ...GLOBAL, ...cmd.options };
  const named = cmd.aliases ? applyAliases(args, cmd.aliases, options, cmd.passthrough === true) : args;
  const [own, after] = cmd.passthrough ? splitCommand(named, options) : [named, []];
  const parsed = parseOptions(own, options, `minic ${cmd.name} ${cmd.usage}`);
  if (parsed.values.help) {
    ctx.out(`usage: minic ${cmd.name} ${cmd.usage}\n${cmd.summary}`);
    return 0;
  }
  if (cmd.noArgs && parsed.positionals.length > 0) {
    throw new MinicError("EUSAGE", `${cmd.name} takes no arguments (got '${parsed.positionals[0]}')`, { hint: `usage: minic ${cmd.name} ${cmd.usage}` });
  }
  if (typeof parsed.values.store === "string") ctx.storeRoot = parsed.values.store;
  return cmd.run(parsed.values as Record<string, string | boolean>, [...parsed.positionals, ...after], ctx);
}

function makeContext(_argv: string[]): CliContext {
  const ctx: CliContext = {
    storeRoot: undefined,
    // Imported when first used, like the commands: a command starts by loading only what it needs.
    store: async (opts) => {
      const { Store } = await import("./store/store.js");
      return Store.open(ctx.storeLocation().root, opts?.create ?? true, ctx.err);
    },
    storeLocation: () => storeLocation(ctx.storeRoot, ctx.cwd),
    out: (line) => stdout().write(line + "\n"),
    err: (line) => stderr().write(printable(line) + "\n"),
    tty: isatty(2),
    cwd: process.cwd(),
  };
  return ctx;
}

async function usage(registry: Registry): Promise<string> {
  const commands = await Promise.all(Object.values(registry).map((load) => load()));
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: minic COMMAND [options]   (global: --store DIR, else $MINIC_STORE; 'minic info' says which store is used)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "minic COMMAND --help shows a command's options.",
  ].join("\n");
}
