// The CLI with every command (each loaded when used): what bin/minic.js runs, and what the
// startup snapshot (snapshot.ts) hands the commands it does not carry to.
import { main } from "./cli.js";
import { COMMANDS } from "./commands/index.js";

/** Runs minic with `argv` (without node and script); returns the exit status. */
export function run(argv: string[]): Promise<number> {
  return main(argv, COMMANDS);
}
