// Pure: how systemd-nspawn --user will find the container's user. nspawn resolves it by running
// `/usr/bin/getent` (else `/bin/getent`) inside the container: `getent passwd KEY` for the uid,
// gid and home, then `getent initgroups KEY` for the groups. minic resolves the user itself from
// the image's /etc/passwd and /etc/group (as the chroot runtime and podman do); when the image's
// getent cannot give that answer (there is none, or the uid has no entry, or the group is not
// the entry's), minic binds a stand-in over /usr/bin/getent that prints it.
import { MinicError } from "../core/errors.js";
import { getentElf, MAX_ANSWER, type GetentAnswers } from "./getent-elf.js";
import type { ResolvedUser } from "./user.js";

/** What minic found in the image (looked up without following its symlinks on the host). */
export interface GetentFacts {
  /** /usr/bin/getent: absent, a regular file, or something else (a symlink: its target is unknown). */
  usrBinGetent: "none" | "file" | "other";
  /** /bin/getent exists. */
  binGetent: boolean;
  /** /bin/sh exists (for the script stand-in). */
  binSh: boolean;
  /** The host's architecture, a Node `process.arch` name. */
  arch: string;
}

/** The image's own getent answers; or a stand-in to bind read-only over /usr/bin/getent. */
export type UserLookup = { kind: "image" } | { kind: "stand-in"; exe: "elf" | "sh"; content: Buffer | string };

/**
 * What `--user=` names for nspawn when the user is uid 0 with another group (`0:5`,
 * `root:nogroup`): nspawn takes "root" and "0" as 0:0 without asking getent, so such a user goes
 * by this key, which only minic's stand-in answers (planUserLookup always binds it then).
 */
export const ROOT_WITH_GROUP_KEY = "minic-root";

/** Pure: the key nspawn --user gets for `user` (as given) resolved to `uid`:`gid`. */
export function nspawnUserKey(user: string, uid: number, gid: number): string {
  const key = user.split(":")[0] || "0"; // `:GID`: root with that group
  return (key === "root" || key === "0") && uid === 0 && gid !== 0 ? ROOT_WITH_GROUP_KEY : key;
}

/** Where nspawn looks first, and so where the stand-in is bound. */
export const GETENT_TARGET = "/usr/bin/getent";

/** Pure: the lines `getent passwd KEY` and `getent initgroups KEY` print for the resolved user. */
export function getentAnswers(key: string, u: ResolvedUser): GetentAnswers {
  // nspawn reads uid, gid and home from the passwd line (and creates the home if missing), and
  // sets the supplementary groups to every gid after the first word of the initgroups line.
  // A uid without an entry gets / as its home, as under podman.
  return { passwd: `${key}:x:${u.uid}:${u.gid}::${u.entry?.home ?? "/"}:${u.entry?.shell ?? ""}\n`, initgroups: `${key} ${u.gid}\n` };
}

/** Pure: the /bin/sh stand-in (for hosts without machine code for the ELF one). */
export function getentScript(a: GetentAnswers): string {
  const q = (s: string) => `'${s.replace(/\n$/, "").replace(/'/g, `'\\''`)}'`;
  return [
    "#!/bin/sh",
    "# written by minic: systemd-nspawn --user runs getent in the container to find the user",
    'case "$1" in',
    `passwd) echo ${q(a.passwd)} ;;`,
    `initgroups) echo ${q(a.initgroups)} ;;`,
    "*) exit 1 ;;",
    "esac",
    "",
  ].join("\n");
}

/**
 * Pure: how nspawn --user=`user` (as given: name, uid, name:group, uid:gid) gets `resolved`.
 * The image's getent when it has one and the entry says the same; else the ELF stand-in, else
 * (no machine code for this host) the script one when the image has /bin/sh. Throws ERUN, before
 * anything starts, when neither can work.
 */
export function planUserLookup(user: string, resolved: ResolvedUser, facts: GetentFacts): UserLookup {
  const key = nspawnUserKey(user, resolved.uid, resolved.gid);
  const e = resolved.entry;
  const hasGetent = facts.usrBinGetent !== "none" || facts.binGetent;
  if (hasGetent && e && e.uid === resolved.uid && e.gid === resolved.gid && key !== ROOT_WITH_GROUP_KEY) return { kind: "image" };
  const why = !hasGetent ? "the image has no getent" : !e ? `uid ${resolved.uid} has no entry in the image's /etc/passwd` : `group ${resolved.gid} is not the primary group of '${e.name}' in the image's /etc/passwd`;
  if (facts.usrBinGetent === "other") {
    throw new MinicError("ERUN", `cannot run as '${user}' under systemd-nspawn: ${why}, and minic cannot put its getent stand-in over the image's /usr/bin/getent (not a regular file)`, {
      hint: "give a user as the image's /etc/passwd has it, or run with --runtime chroot",
    });
  }
  const answers = getentAnswers(key, resolved);
  if (Buffer.byteLength(answers.passwd) > MAX_ANSWER) {
    throw new MinicError("ERUN", `cannot run as '${user}' under systemd-nspawn: its /etc/passwd entry is longer than minic's getent stand-in prints (${MAX_ANSWER} bytes)`, {
      hint: "shorten the user's home directory in the image, or run with --runtime chroot",
    });
  }
  const elf = getentElf(facts.arch, answers);
  if (elf) return { kind: "stand-in", exe: "elf", content: elf };
  if (facts.binSh) return { kind: "stand-in", exe: "sh", content: getentScript(answers) };
  throw new MinicError("ERUN", `cannot run as '${user}' under systemd-nspawn: ${why}, it has no /bin/sh for minic's getent stand-in either, and minic has no machine code for one on ${facts.arch}`, {
    hint: "run with --runtime chroot, or add getent (or /bin/sh) to the image",
  });
}
