// The list of subcommands, in the order `minic help` shows them.
import type { Command } from "./command.js";
import { importCommand } from "./import.js";

export const COMMANDS: Command[] = [importCommand];
