// Names are UTF-8 in minic layers. A name (or link target) that is not valid UTF-8 is refused by
// every reader with one line that shows its bytes, never rewritten (decoding it as UTF-8 would
// turn `bad\377name` into `bad\xEF\xBF\xBDname`: another file).
import { isUtf8 } from "node:buffer";
import { MinicError } from "../core/errors.js";

/** Pure: bytes shown with non-printable ones as \xHH. */
export function showBytes(b: Buffer): string {
  return b.toString("latin1").replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The name in `bytes` as a string; throws EARCHIVE when it is not valid UTF-8. `what`: "cpio member name", … */
export function utf8Name(bytes: Buffer, what: string): string {
  if (isUtf8(bytes)) return bytes.toString("utf8");
  throw new MinicError("EARCHIVE", `${what} '${showBytes(bytes)}' is not valid UTF-8`, {
    hint: "minic layers store names as UTF-8: rename it (e.g. convmv -f latin1 -t utf8 --notest) and pack the archive again; nothing was stored",
  });
}
