// How a container whose PID 1 died of a signal ends: 128+N, as podman and shells report it.
// systemd-nspawn exits 1 for that and says why only on its stderr, as its last line
// ("Container NAME terminated by signal KILL."). minic relays nspawn's stderr (where that does
// not change what the container's own stderr is, see relayNspawnStderr) and takes the line out.
import { constants } from "node:os";

/** Pure: the signal number of nspawn's "Container MACHINE terminated by signal SIG." line, or undefined. */
export function nspawnSignalLine(line: string, machine: string): number | undefined {
  const prefix = `Container ${machine} terminated by signal `;
  if (!line.startsWith(prefix) || !line.endsWith(".")) return undefined;
  const name = line.slice(prefix.length, -1);
  const n = (constants.signals as Record<string, number>)[`SIG${name}`];
  return typeof n === "number" && n > 0 ? n : undefined;
}

/**
 * Relays nspawn's stderr to `write` as it comes, except a last line that is nspawn's
 * "terminated by signal" line (held back until more output shows it was the container's own).
 * `signal()` gives that line's signal once the output has ended, or undefined.
 */
export class NspawnStderrRelay {
  private held: Buffer | undefined;
  private seen: number | undefined;

  constructor(private readonly machine: string, private readonly write: (b: Buffer) => void) {}

  push(chunk: Buffer): void {
    if (this.held) {
      this.write(this.held);
      this.held = undefined;
      this.seen = undefined;
    }
    const end = chunk.length > 0 && chunk[chunk.length - 1] === 0x0a ? chunk.length - 1 : -1;
    const start = end < 0 ? -1 : chunk.lastIndexOf(0x0a, end - 1) + 1;
    const n = end < 0 ? undefined : nspawnSignalLine(chunk.subarray(start, end).toString("latin1"), this.machine);
    if (n === undefined) {
      this.write(chunk);
      return;
    }
    if (start > 0) this.write(chunk.subarray(0, start));
    this.held = Buffer.from(chunk.subarray(start));
    this.seen = n;
  }

  /** The signal that ended the container's PID 1, when nspawn's last line said so. */
  signal(): number | undefined {
    return this.seen;
  }
}

/**
 * Whether minic may relay nspawn's stderr: always with a terminal console (the container's
 * output goes through nspawn's pty, its stderr carries only nspawn's own lines); with a pipe
 * console (the container gets nspawn's fds) only when minic's stderr is no terminal, so that a
 * command writing to a terminal still gets one.
 */
export function relayNspawnStderr(ttyConsole: boolean, stderrIsTty: boolean): boolean {
  return ttyConsole || !stderrIsTty;
}
