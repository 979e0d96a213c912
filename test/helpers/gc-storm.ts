// Drives gc-storm-process.mjs: a process that runs `minic gc` back to back on a store while told
// to (see there why), for the tests that race gc against writers.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./gc-storm-process.mjs", import.meta.url));

export interface Storm {
  /** Starts gcs back to back; resolves once the first is under way. */
  go(): Promise<void>;
  /** Ends the storm after the gc in progress; how many ran and how many failed (exit ≠ 0). */
  stop(): Promise<{ gcs: number; failures: number; stderr: string }>;
  /** Ends the process (idempotent; also after a failed test). */
  close(): Promise<void>;
}

/** Starts a storm process on `store` (idle until go()). */
export async function startStorm(store: string): Promise<Storm> {
  const child: ChildProcess = spawn(process.execPath, [SCRIPT, store], { stdio: ["pipe", "ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const lines = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error(`gc storm process ended: ${stderr}`);
    return r.value as string;
  };
  if ((await next()) !== "ready") throw new Error(`gc storm did not start: ${stderr}`);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    async go() {
      child.stdin!.write("go\n");
      await next();
    },
    async stop() {
      child.stdin!.write("stop\n");
      const [gcs, failures] = (await next()).split(" ").map(Number);
      const out = { gcs: gcs!, failures: failures!, stderr };
      stderr = "";
      return out;
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
