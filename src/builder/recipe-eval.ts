// Evaluates a compiled recipe module in a worker thread, so that the main thread stays free to
// act on SIGINT, SIGTERM and SIGHUP: a recipe that loops forever (`while (true) {}`) blocked
// minic's only thread, which then ignored every signal but SIGKILL. The worker is started ahead
// (warmUpRecipeWorker) so that its start overlaps the type-check and the compile.
import { createRequire } from "node:module";
import type { Worker } from "node:worker_threads";
import { MinicError } from "../core/errors.js";
import type { EvalReply, EvalRequest } from "./recipe-worker.js";

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

let warm: Worker | undefined;

function startWorker(): Worker {
  // node:worker_threads is loaded here, not imported at load: the startup snapshot (which
  // carries `build`) would hold the module as evaluated when the snapshot was made, whose
  // shared memory (its cwd counter) does not survive it, and every Worker would then fail. The
  // URL is made here too: in the snapshot, import.meta.url is set only when minic starts.
  const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof import("node:worker_threads");
  const w = new Worker(new URL("../builder/recipe-worker.js", import.meta.url), { stdout: false, stderr: false });
  w.on("error", () => {}); // reported through evaluateRecipe
  return w;
}

/** Starts the worker before it is needed (idempotent). */
export function warmUpRecipeWorker(): void {
  warm ??= startWorker();
}

/** Ends a worker started ahead and not used (a build that failed before its recipe was loaded). */
export function discardRecipeWorker(): void {
  void warm?.terminate();
  warm = undefined;
}

/**
 * Imports `url` in a worker thread and returns its default export, as data (structured clone),
 * and the names of the build arguments (`args`, for arg()) it asked for.
 * `sources` maps compiled module URLs to their source files (defineRecipe reads it). Throws
 * EINTERRUPTED when minic gets SIGINT, SIGTERM or SIGHUP meanwhile (the worker is ended, whatever
 * the recipe is doing); otherwise what the import threw, rebuilt in this thread (a MinicError
 * with its code and hint, or an Error with its code and esbuild `errors`; either with its stack).
 */
export async function evaluateRecipe(url: string, sources: ReadonlyMap<string, string>, args: ReadonlyMap<string, string> = new Map()): Promise<{ value: unknown; argsRead: string[] }> {
  const worker = warm ?? startWorker();
  warm = undefined;
  const handlers: [NodeJS.Signals, () => void][] = [];
  try {
    return await new Promise<{ value: unknown; argsRead: string[] }>((resolve, reject) => {
      for (const sig of STOP_SIGNALS) {
        const h = () => reject(new MinicError("EINTERRUPTED", `loading the recipe was stopped by ${sig}`));
        process.on(sig, h);
        handlers.push([sig, h]);
      }
      worker.once("message", (reply: EvalReply) => {
        if (reply.ok) return resolve({ value: reply.value, argsRead: reply.argsRead });
        const { name, message, stack, code, hint, errors } = reply.error;
        // The stack is the worker's: it names the recipe's frames (load-recipe's file:line:col).
        const withStack = <E extends Error>(err: E): E => (stack === undefined ? err : Object.assign(err, { stack }));
        if (name === "MinicError" && code) return reject(withStack(new MinicError(code as MinicError["code"], message, { hint })));
        reject(withStack(Object.assign(new Error(message), { name, ...(code ? { code } : {}), ...(errors ? { errors } : {}) })));
      });
      worker.once("error", (e) => reject(e));
      // The thread ends without an answer when nothing is left to wait for (a top-level await
      // that never settles) or the recipe calls process.exit.
      worker.once("exit", (status) => reject(status === 0
        ? new MinicError("ERECIPE", "the recipe never finished loading (a top-level await that never settles, or process.exit)", { hint: "fix the recipe and build again" })
        : new MinicError("ERECIPE", `the recipe ended its thread (exit status ${status}) before it was loaded`, { hint: "a recipe must not call process.exit" })));
      worker.postMessage({ url, sources: [...sources], args: [...args] } satisfies EvalRequest);
    });
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    void worker.terminate();
  }
}
