// Pure: the sh that gives systemd-nspawn a private /run/systemd/nspawn (its locks and mount
// propagation dirs) inside the wrapper's mount namespace, on hosts where that directory is not
// systemd's own tmpfs. Nothing is created on the host: where the directory does not exist (a
// host where nspawn never ran), a tmpfs is mounted over its nearest existing parent in the
// private namespace, the parent's entries are bound back into it, and the directory is made there.
import { shQuote } from "./sh-quote.js";

/** nspawn's state directory (fixed in systemd-nspawn). */
export const NSPAWN_STATE_DIR = "/run/systemd/nspawn";

/** Name, under the container's directory, of the mount point that keeps the hidden parent reachable. */
export const HIDDEN_PARENT = "host-parent";

/**
 * Pure: sh lines (for the wrapper, whose `fail` they call) that mount a tmpfs on `target`, or,
 * when `target` does not exist, on its nearest existing parent with that parent's entries
 * (files, directories with their submounts, symlinks) bound back, then create `target` in it.
 * `dir` is the container's directory (the parent is kept reachable under it while binding back);
 * `err` the quoted file failures append to. fd 3 (the wrapper's gate) is closed for `mount`.
 */
export function privateStateDirLines(mount: string, dir: string, err: string, target = NSPAWN_STATE_DIR): string[] {
  // -n: no utab update (libmount would otherwise make /run/mount in the tmpfs being filled).
  const m = `${shQuote(mount)} -n`;
  const t = shQuote(target);
  const keep = shQuote(`${dir}/${HIDDEN_PARENT}`);
  const tmpfs = (at: string) => `${m} -t tmpfs -o mode=0755,nosuid,nodev minic-nspawn ${at} 3<&- 2>>${err}`;
  const fail = `fail ${shQuote(`mounting a tmpfs on ${target}`)}`;
  return [
    `if [ -d ${t} ]; then ${tmpfs(t)} || ${fail}`,
    "else",
    // The nearest existing parent (at worst /).
    `  p=${t}; while [ ! -d "$p" ]; do p=\${p%/*}; p=\${p:-/}; done`,
    `  mkdir -p ${keep} 2>>${err} && ${m} --rbind "$p" ${keep} 3<&- 2>>${err} && ${tmpfs('"$p"')} || ${fail}`,
    `  for e in ${keep}/* ${keep}/.[!.]* ${keep}/..?*; do`,
    `    [ -e "$e" ] || [ -L "$e" ] || continue`,
    `    n="\${p%/}/\${e##*/}"`,
    `    if [ -L "$e" ]; then ln -sfn "$(readlink "$e")" "$n"; elif [ -d "$e" ]; then mkdir -p "$n" && ${m} --rbind "$e" "$n" 3<&-; else : >"$n" && ${m} --bind "$e" "$n" 3<&-; fi 2>>${err} || fail "binding $n back over the tmpfs"`,
    "  done",
    `  mkdir -p ${t} 2>>${err} || ${fail}`,
    "fi",
  ];
}
