// Pure: whether a process of a given uid and gid may execute a file, by its mode bits as the
// kernel decides (one class applies: the owner's bits if the uid owns the file, else the group's
// if one of its groups does, else the others'); uid 0 may execute a file with any x bit. ACLs
// and capabilities beyond root's are not modelled.

/** Who runs a command in a container. */
export interface Runner {
  uid: number;
  gid: number;
  /**
   * Groups the image's /etc/group lists the user in. Whether the process has them depends on
   * how the runtime looks the user up (nspawn's getent stand-in gives the primary group only),
   * so either class may apply to a file of one of them: it is executable when either allows.
   */
  groups: readonly number[];
}

export function mayExecute(st: { mode: number; uid: number; gid: number }, who: Runner): boolean {
  if (who.uid === 0) return (st.mode & 0o111) !== 0;
  if (st.uid === who.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === who.gid) return (st.mode & 0o010) !== 0;
  if (who.groups.includes(st.gid)) return (st.mode & 0o011) !== 0;
  return (st.mode & 0o001) !== 0;
}
