// The list of subcommands, in the order `minic help` shows them.
import type { Command } from "./command.js";
import { buildCommand } from "./build.js";
import { gcCommand } from "./gc.js";
import { imagesCommand } from "./images.js";
import { importCommand } from "./import.js";
import { inspectCommand } from "./inspect.js";
import { rmiCommand } from "./rmi.js";
import { saveCommand } from "./save.js";
import { loadCommand } from "./load.js";
import { exportCommand } from "./export.js";

export const COMMANDS: Command[] = [buildCommand, imagesCommand, inspectCommand, rmiCommand, gcCommand, importCommand, saveCommand, loadCommand, exportCommand];
