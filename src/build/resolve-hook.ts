// Module resolve hook (registered with node:module register): maps the bare specifier "minic"
// to this installation's recipe API, so a recipe anywhere on disk can `import ... from "minic"`.

let target = "";

/** Receives the URL of dist/index.js from the registering thread. */
export function initialize(data: { indexUrl: string }): void {
  target = data.indexUrl;
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string; shortCircuit?: boolean; format?: string }> {
  if (specifier === "minic") return { url: target, format: "module", shortCircuit: true };
  return next(specifier, context);
}
