// The list of subcommands, in the order `minic help` shows them.
import type { Command } from "./command.js";

export const COMMANDS: Command[] = [];
