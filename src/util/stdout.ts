// process.stdout for minic's own output, with a reader that goes away (`minic images | head -1`)
// made no error of minic's (EPIPE ends the command quietly, exit 141). Made on first use:
// creating the stream costs a command that prints nothing (`minic run`, whose container writes
// to fd 1 itself) a millisecond or two.
let guarded = false;

export function stdout(): NodeJS.WriteStream {
  if (!guarded) {
    guarded = true;
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
    });
  }
  return process.stdout;
}
