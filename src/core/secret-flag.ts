// Pure: `minic build --secret id=ID,src=FILE`, as buildah and BuildKit write it.
import { MinicError } from "./errors.js";
import { SECRET_ID_RE } from "./recipe-canonical.js";

/** A build secret as `--secret` names it: its id and the host file that holds it (as typed). */
export interface SecretSource {
  id: string;
  src: string;
}

const HINT = "give --secret id=ID,src=FILE, e.g. --secret id=token,src=$HOME/.npmrc";

/** Pure: parses one `--secret` value (`type=file` is accepted, `source=` is `src=`). Throws EUSAGE; the message shows the value, which names a file, never a secret. */
export function parseSecretFlag(value: string): SecretSource {
  const fields = new Map<string, string>();
  for (const part of value.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new MinicError("EUSAGE", `--secret '${value}': '${part}' is not KEY=VALUE`, { hint: HINT });
    const key = part.slice(0, i).trim();
    fields.set(key === "source" ? "src" : key, part.slice(i + 1));
  }
  const unknown = [...fields.keys()].find((k) => !["id", "src", "type"].includes(k));
  if (unknown) throw new MinicError("EUSAGE", `--secret '${value}': unknown key '${unknown}'`, { hint: HINT });
  if (fields.has("type") && fields.get("type") !== "file") throw new MinicError("EUSAGE", `--secret '${value}': only type=file is supported`, { hint: HINT });
  const id = fields.get("id") ?? "";
  const src = fields.get("src") ?? "";
  if (!SECRET_ID_RE.test(id)) throw new MinicError("EUSAGE", `--secret '${value}': id '${id}' is not a name of letters, digits, '_', '.' and '-'`, { hint: HINT });
  if (src === "") throw new MinicError("EUSAGE", `--secret '${value}': no src=FILE`, { hint: HINT });
  return { id, src };
}
