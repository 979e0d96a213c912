// Pure: resolves a container user (`root`, `name`, `uid`, `name:group`, `uid:gid`) against the
// image's /etc/passwd and /etc/group text.
import { MinicError } from "../core/errors.js";

/** Numeric uid and gid for `user`; throws ERUN when a name is not in the image. */
export function resolveUser(user: string, passwd: string | undefined, group: string | undefined): { uid: number; gid: number } {
  const [u, g] = user.split(":") as [string, string | undefined];
  const pw = (passwd ?? "").split("\n").map((l) => l.split(":")).filter((f) => f.length >= 4);
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = pw.find((f) => f[2] === u);
    if (row) gid = Number(row[3]);
  } else {
    const row = pw.find((f) => f[0] === u);
    if (!row) throw new MinicError("ERUN", `user '${u}' is not in the image's /etc/passwd`, { hint: "add the user to the image, or give a numeric uid[:gid]" });
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = (group ?? "").split("\n").map((l) => l.split(":")).find((f) => f[0] === g);
      if (!row) throw new MinicError("ERUN", `group '${g}' is not in the image's /etc/group`, { hint: "add the group to the image, or give a numeric gid" });
      gid = Number(row[2]);
    }
  }
  return { uid, gid: gid ?? uid };
}
