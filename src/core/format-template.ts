// Pure: the part of Go's text/template that `podman … --format` users write, over the JSON a
// command prints with --json: `{{.Field.Sub}}` (names matched case-insensitively, so podman's
// `{{.Config.Env}}` finds minic's `config.env`, and a command may name podman's fields that minic
// calls otherwise), `{{json .X}}`, `{{.}}`, podman's `table …` header, and the `\t` / `\n`
// escapes podman takes in a format. Values print as Go's %v does: `[a b]` for a list,
// `map[k:v]` for an object. Anything else is refused before any output, in one line.
import { MinicError } from "./errors.js";

type Part = { text: string } | { path: string[]; json: boolean };

const ACTION = /\{\{-?\s*(.*?)\s*-?\}\}/g;

/**
 * podman's names for fields minic calls otherwise, as lowercase dotted paths (`config.workingdir`
 * → `config.workdir`): the command's own, given to compileFormat.
 */
export type FieldAliases = Readonly<Record<string, string>>;

/** A compiled format: prints one value (a row or an image) per call; `check` refuses a field none of the values has. */
export interface Printer {
  (value: unknown): string;
  check(values: readonly unknown[]): void;
}

/**
 * Parses `format` once. EUSAGE for what it cannot do. A field one value lacks prints `<no value>`
 * (as Go prints a map's missing key: a row's optional field); `check` refuses one that no value
 * has (a typo), before anything is printed.
 */
export function compileFormat(format: string, aliases: FieldAliases = {}): Printer {
  const parts: Part[] = [];
  let last = 0;
  for (const m of format.matchAll(ACTION)) {
    parts.push({ text: unescape(format.slice(last, m.index)) });
    parts.push(action(m[1]!, format, aliases));
    last = m.index! + m[0].length;
  }
  const tail = format.slice(last);
  if (tail.includes("{{") || tail.includes("}}")) throw refuse(format, "has an unclosed {{ or a stray }}");
  parts.push({ text: unescape(tail) });
  const print = (value: unknown) => parts.map((p) => ("text" in p ? p.text : show(lookup(value, p.path, format, true), p.json))).join("");
  return Object.assign(print, {
    check(values: readonly unknown[]) {
      for (const p of parts) {
        if ("text" in p || values.length === 0) continue;
        let first: unknown;
        const found = values.some((v) => {
          try {
            lookup(v, p.path, format, false);
            return true;
          } catch (e) {
            first ??= e;
            return false;
          }
        });
        if (!found) throw first;
      }
    },
  });
}

/** The header line of podman's `table …` form: each field's last name in capitals (`{{.Repository}}\t{{.ID}}` → `REPOSITORY\tID`). */
export function tableHeader(format: string): string {
  return unescape(format.replace(ACTION, (_, body: string) => {
    const expr = body.replace(/^json\s+/, "").trim();
    return expr === "." ? "VALUE" : (expr.split(".").pop() ?? "").toUpperCase();
  }));
}

function action(body: string, format: string, aliases: FieldAliases): Part {
  const json = /^json\s+/.exec(body);
  const expr = json ? body.slice(json[0].length).trim() : body;
  if (expr === ".") return { path: [], json: !!json };
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(expr)) throw refuse(format, `cannot do {{${body}}}: minic's --format takes {{.Field}}, {{.Field.Sub}}, {{json .Field}} and {{.}}`);
  const path = expr.slice(1);
  return { path: (aliases[path.toLowerCase()] ?? path).split("."), json: !!json };
}

/** The value at `path`; a missing field is undefined when `lenient`, else EUSAGE naming the fields there are. */
function lookup(value: unknown, path: string[], format: string, lenient: boolean): unknown {
  let v = value;
  for (const [i, name] of path.entries()) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      if (lenient) return undefined;
      throw refuse(format, `.${path.slice(0, i).join(".")} has no fields, so no .${name}`);
    }
    const o = v as Record<string, unknown>;
    const key = Object.hasOwn(o, name) ? name : Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) {
      if (lenient) return undefined;
      const where = i === 0 ? "" : ` of .${path.slice(0, i).join(".")}`;
      throw refuse(format, `has no field .${name}${where} (there are: ${Object.keys(o).join(", ")})`);
    }
    v = o[key];
  }
  return v;
}

/** Go's %v of a JSON value (or JSON itself for {{json}}). */
function show(v: unknown, json: boolean): string {
  if (json) return JSON.stringify(v ?? null);
  if (v === undefined || v === null) return "<no value>";
  if (Array.isArray(v)) return `[${v.map((x) => show(x, false)).join(" ")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `map[${Object.keys(o).sort().map((k) => `${k}:${show(o[k], false)}`).join(" ")}]`;
  }
  return String(v);
}

function unescape(s: string): string {
  return s.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
}

function refuse(format: string, why: string): MinicError {
  return new MinicError("EUSAGE", `--format '${format}' ${why}`, { hint: "the fields are those --json prints, in any case (e.g. {{.Id}}); --json and jq do anything else" });
}
