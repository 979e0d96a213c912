// process.stdout and process.stderr for minic's own output, with a reader that goes away
// (`minic images | head -1`, `minic run … 2>&1 | head -1`) made no error of minic's: EPIPE
// ends the output quietly instead of crashing minic before it has cleaned up. Each stream is
// made on first use: making one costs a command that prints nothing (`minic run`, whose
// container writes to fds 1 and 2 itself) a millisecond or two.
const guarded = new Set<NodeJS.WriteStream>();

function guard(s: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(s)) {
    guarded.add(s);
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  }
  return s;
}

export function stdout(): NodeJS.WriteStream {
  return guard(process.stdout);
}

export function stderr(): NodeJS.WriteStream {
  return guard(process.stderr);
}
