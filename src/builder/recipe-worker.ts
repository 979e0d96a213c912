// Runs in a worker thread (see recipe-eval.ts): imports a compiled recipe module and posts its
// default export back as data. A recipe is code: one that never ends (`while (true) {}`) blocks
// only this thread, and the main thread, which still gets SIGINT and SIGTERM, ends it.
import { parentPort } from "node:worker_threads";

/** compile-recipe.ts SOURCES_KEY, read by defineRecipe (not imported: this thread loads nothing else). */
const SOURCES_KEY = Symbol.for("minic.recipeSources");
/** index.ts ARGS_KEY, read by arg(). */
const ARGS_KEY = Symbol.for("minic.buildArgs");

/** What the main thread sends: the module to import and the compiled → source URLs. */
export interface EvalRequest {
  url: string;
  sources: [string, string][];
  /** minic build --arg NAME=VALUE, for the recipe API's arg(). */
  args: [string, string][];
}

/** What the worker answers: the default export, or what the import threw (as plain data). */
export type EvalReply =
  | { ok: true; value: unknown; argsRead: string[] }
  | { ok: false; error: { name: string; message: string; stack?: string; code?: string; hint?: string; errors?: unknown[] } };

parentPort?.once("message", async (req: EvalRequest) => {
  (globalThis as Record<symbol, unknown>)[SOURCES_KEY] = new Map(req.sources);
  const args = { values: new Map(req.args), read: new Set<string>() };
  (globalThis as Record<symbol, unknown>)[ARGS_KEY] = args;
  let reply: EvalReply;
  Error.stackTraceLimit = 100; // the recipe's frame may lie below many of node's own (recipe-location.ts)
  try {
    const mod = (await import(req.url)) as { default?: unknown };
    reply = { ok: true, value: mod.default, argsRead: [...args.read] };
  } catch (e) {
    const err = e as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown; hint?: unknown; errors?: unknown };
    reply = {
      ok: false,
      error: {
        name: String(err?.name ?? "Error"),
        message: String(err?.message ?? e),
        ...(typeof err?.stack === "string" ? { stack: err.stack } : {}),
        ...(typeof err?.code === "string" ? { code: err.code } : {}),
        ...(typeof err?.hint === "string" ? { hint: err.hint } : {}),
        ...(Array.isArray(err?.errors) ? { errors: structuredClone(err.errors) } : {}),
      },
    };
  }
  try {
    parentPort!.postMessage(reply);
  } catch (e) {
    // A value that is not data (a function, a class instance with private state) cannot leave the thread.
    parentPort!.postMessage({ ok: false, error: { name: "DataCloneError", message: `the default export is not plain data (${(e as Error).message})` } } satisfies EvalReply);
  }
});
