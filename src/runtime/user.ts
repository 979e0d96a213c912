// Pure: resolves a container user (`root`, `name`, `uid`, `name:group`, `uid:gid`) against the
// image's /etc/passwd and /etc/group text.
import { MinicError } from "../core/errors.js";

/** A resolved container user. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: the image's /etc/group rows that list the entry's name. */
  groups: number[];
  /** The /etc/passwd entry the user part named (by name or by uid), if there is one. */
  entry?: { name: string; uid: number; gid: number; home: string; shell: string };
}

/** The largest uid or gid minic passes on (podman's bound: 2^31 - 1). */
export const MAX_ID = 2 ** 31 - 1;

/**
 * Numeric uid and gid for `user`, and the passwd entry it names; throws ERUN when a name is not
 * in the image or an id is out of range. A uid without an entry is allowed (its gid is then the
 * given one, else 0, as under podman and Docker); `:GID` alone is root with that group.
 */
export function resolveUser(user: string, passwd: string | undefined, group: string | undefined): ResolvedUser {
  const [given, g] = user.split(":") as [string, string | undefined];
  const u = given === "" && g !== undefined ? "0" : given;
  for (const id of [u, g]) {
    if (id !== undefined && /^\d+$/.test(id) && Number(id) > MAX_ID) {
      throw new MinicError("ERUN", `user '${user}': id ${id} is out of range (0-${MAX_ID})`, { hint: "give a uid[:gid] in that range, or a name from the image's /etc/passwd" });
    }
  }
  const pw = (passwd ?? "").split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!));
  const numeric = /^\d+$/.test(u);
  const row = pw.find((f) => (numeric ? f[2] === u : f[0] === u));
  if (!row && !numeric) throw new MinicError("ERUN", `user '${u}' is not in the image's /etc/passwd`, { hint: "add the user to the image, or give a numeric uid[:gid]" });
  const entry = row ? { name: row[0]!, uid: Number(row[2]), gid: Number(row[3]), home: row[5] || "/", shell: row[6] ?? "" } : undefined;
  const uid = Number(u);
  // /etc/group rows with a numeric gid: [name, password, gid, members].
  const gr = (group ?? "").split("\n").map((l) => l.split(":")).filter((f) => /^\d+$/.test(f[2] ?? ""));
  let gid = entry?.gid;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grow = gr.find((f) => f[0] === g);
      if (!grow) throw new MinicError("ERUN", `group '${g}' is not in the image's /etc/group`, { hint: "add the group to the image, or give a numeric gid" });
      gid = Number(grow[2]);
    }
  }
  // Supplementary groups: the rows whose member list names the user (what initgroups gives).
  const groups = entry ? gr.filter((f) => (f[3] ?? "").split(",").includes(entry.name)).map((f) => Number(f[2])) : [];
  return { uid: entry?.uid ?? uid, gid: gid ?? 0, groups, ...(entry ? { entry } : {}) };
}
