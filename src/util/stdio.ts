// process.stdout and process.stderr for minic's own output, made so that losing them is never an
// error of minic's: a reader that goes away (`minic images | head -1`: EPIPE) or a terminal that
// was closed (EIO, after SIGHUP) ends that output quietly, and the command goes on to clean up
// (a crash on the first note written to a closed terminal left a container's netns, veth,
// cgroups and directory behind). Each stream is made on first use: making one costs a command
// that prints nothing (`minic run`, whose container writes to fds 1 and 2 itself) a ms or two.
const guarded = new Set<NodeJS.WriteStream>();

function guard(s: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!guarded.has(s)) {
    guarded.add(s);
    // Whatever went wrong with the stream, minic's work is not done yet: the output is lost, not the clean-up.
    s.on("error", () => {});
  }
  return s;
}

export function stdout(): NodeJS.WriteStream {
  return guard(process.stdout);
}

export function stderr(): NodeJS.WriteStream {
  return guard(process.stderr);
}
