// `minic build --secret id=ID,src=FILE`, parsed as data.
import { describe, expect, it } from "vitest";
import { parseSecretFlag } from "../../src/core/secret-flag.js";

describe("--secret", () => {
  it("takes id and src (source=, type=file as buildah and BuildKit write them)", () => {
    expect(parseSecretFlag("id=token,src=/root/tok")).toEqual({ id: "token", src: "/root/tok" });
    expect(parseSecretFlag("type=file,id=npm.rc,source=rel/npmrc")).toEqual({ id: "npm.rc", src: "rel/npmrc" });
  });

  it("refuses what it cannot take with a usage error", () => {
    const err = (v: string) => {
      try {
        parseSecretFlag(v);
        return "no error";
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
    };
    expect(err("token")).toBe("EUSAGE: --secret 'token': 'token' is not KEY=VALUE");
    expect(err("id=token")).toBe("EUSAGE: --secret 'id=token': no src=FILE");
    expect(err("id=a/b,src=f")).toBe("EUSAGE: --secret 'id=a/b,src=f': id 'a/b' is not a name of letters, digits, '_', '.' and '-'");
    expect(err("id=t,env=TOKEN")).toBe("EUSAGE: --secret 'id=t,env=TOKEN': unknown key 'env'");
    expect(err("type=env,id=t,src=f")).toBe("EUSAGE: --secret 'type=env,id=t,src=f': only type=file is supported");
  });
});
