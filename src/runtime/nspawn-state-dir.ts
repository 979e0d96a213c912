// Pure: the sh that gives systemd-nspawn a private /run/systemd/nspawn (its locks and mount
// propagation dirs) inside the wrapper's mount namespace, on hosts where that directory is not
// systemd's own tmpfs (PID 1 is not systemd). Nothing is created on the host: where the
// directory does not exist (a host where nspawn never ran), a tmpfs goes over /run/systemd,
// and nspawn makes its directory there. What that hides of /run/systemd nspawn does not use
// when PID 1 is not systemd (journal, resolved, userdb, machined state). On a host without
// /run/systemd, a tmpfs over the nearest existing parent gets the parent's entries bound back
// (/run/netns among them) and /run/systemd is made in it.
import { shQuote } from "./sh-quote.js";

/** nspawn's state directory (fixed in systemd-nspawn). */
export const NSPAWN_STATE_DIR = "/run/systemd/nspawn";

/** Name, under the container's directory, of the mount point that keeps the hidden parent reachable. */
export const HIDDEN_PARENT = "host-parent";

/**
 * Pure: sh lines (for the wrapper, whose `fail` they call) that mount a tmpfs on `target`, or,
 * when it does not exist, on its parent (nspawn makes `target` there), or, when that does not
 * exist either, on the nearest existing ancestor with that ancestor's entries (files,
 * directories with their submounts, symlinks) bound back and the parent made in it. The first
 * two are one `mount` each, the cost of every run on such hosts; the last is rare.
 * `dir` is the container's directory (the ancestor is kept reachable under it while binding
 * back); `err` the quoted file failures append to. fd 3 (the wrapper's gate) is closed for `mount`.
 */
export function privateStateDirLines(mount: string, dir: string, err: string, target = NSPAWN_STATE_DIR): string[] {
  // -n: no utab update (libmount would otherwise make /run/mount in the tmpfs being filled).
  const m = `${shQuote(mount)} -n`;
  const t = shQuote(target);
  const parent = shQuote(target.slice(0, target.lastIndexOf("/")) || "/");
  const keep = shQuote(`${dir}/${HIDDEN_PARENT}`);
  const tmpfs = (at: string) => `${m} -t tmpfs -o mode=0755,nosuid,nodev minic-nspawn ${at} 3<&- 2>>${err}`;
  const fail = `fail ${shQuote(`mounting a tmpfs on ${target}`)}`;
  return [
    `if [ -d ${t} ]; then ${tmpfs(t)} || ${fail}`,
    `elif [ -d ${parent} ]; then ${tmpfs(parent)} || ${fail}`,
    "else",
    // The nearest existing ancestor (at worst /).
    `  p=${parent}; while [ ! -d "$p" ]; do p=\${p%/*}; p=\${p:-/}; done`,
    `  mkdir -p ${keep} 2>>${err} && ${m} --rbind "$p" ${keep} 3<&- 2>>${err} && ${tmpfs('"$p"')} || ${fail}`,
    `  for e in ${keep}/* ${keep}/.[!.]* ${keep}/..?*; do`,
    `    [ -e "$e" ] || [ -L "$e" ] || continue`,
    `    n="\${p%/}/\${e##*/}"`,
    `    if [ -L "$e" ]; then ln -sfn "$(readlink "$e")" "$n"; elif [ -d "$e" ]; then mkdir -p "$n" && ${m} --rbind "$e" "$n" 3<&-; else : >"$n" && ${m} --bind "$e" "$n" 3<&-; fi 2>>${err} || fail "binding $n back over the tmpfs"`,
    "  done",
    `  mkdir -p ${parent} 2>>${err} || ${fail}`,
    "fi",
  ];
}
