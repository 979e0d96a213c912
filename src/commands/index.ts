// The subcommands, in the order `minic help` shows them. Each is imported only when used, so
// that a command starts without loading the others' dependencies (this keeps `minic run` lean).
import type { Command } from "./command.js";

export const COMMANDS: Record<string, () => Promise<Command>> = {
  build: async () => (await import("./build.js")).buildCommand,
  images: async () => (await import("./images.js")).imagesCommand,
  inspect: async () => (await import("./inspect.js")).inspectCommand,
  rmi: async () => (await import("./rmi.js")).rmiCommand,
  tag: async () => (await import("./tag.js")).tagCommand,
  gc: async () => (await import("./gc.js")).gcCommand,
  fsck: async () => (await import("./fsck.js")).fsckCommand,
  import: async () => (await import("./import.js")).importCommand,
  export: async () => (await import("./export.js")).exportCommand,
  save: async () => (await import("./save.js")).saveCommand,
  load: async () => (await import("./load.js")).loadCommand,
  push: async () => (await import("./push.js")).pushCommand,
  pull: async () => (await import("./pull.js")).pullCommand,
  run: async () => (await import("./run.js")).runCommand,
  ps: async () => (await import("./ps.js")).psCommand,
  rm: async () => (await import("./rm.js")).rmCommand,
  prune: async () => (await import("./prune.js")).pruneCommand,
  info: async () => (await import("./info.js")).infoCommand,
  doctor: async () => (await import("./doctor.js")).doctorCommand,
};
