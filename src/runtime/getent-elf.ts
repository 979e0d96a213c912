// Pure: a tiny static ELF executable standing in for getent in the container, for the one
// lookup systemd-nspawn --user makes (`getent passwd KEY`, then `getent initgroups KEY`, run in
// the container with an empty environment). It needs no interpreter and no libc, so it also
// works in an image without a shell. Only the x86-64 machine code exists; other hosts get none.

/** The two answers the stand-in prints, each one line ending in "\n". */
export interface GetentAnswers {
  passwd: string;
  initgroups: string;
}

/** Where the one PT_LOAD segment (the whole file) is mapped. */
const BASE = 0x400000;
const EHDR = 64;
const PHDR = 56;
/** Longest answer written in one write(2): pipes write up to PIPE_BUF bytes atomically. */
export const MAX_ANSWER = 4096;

/*
 * The program, assembled from this listing (Intel syntax; offsets from the start of the code):
 *
 *   00 cmp qword [rsp], 2        argc < 2: fail
 *   05 jb fail
 *   07 mov rbx, [rsp+16]         argv[1]
 *   0c lea rdi, [rip+key_passwd]
 *   13 mov rsi, rbx
 *   16 mov ecx, 7                strlen("passwd") + NUL
 *   1b repe cmpsb
 *   1d je do_passwd
 *   1f lea rdi, [rip+key_init]
 *   26 mov rsi, rbx
 *   29 mov ecx, 11               strlen("initgroups") + NUL
 *   2e repe cmpsb
 *   30 je do_init
 *   32 fail: mov edi, 1          exit(1), as getent does for an unknown database
 *   37 mov eax, 60
 *   3c syscall
 *   3e do_passwd: lea rsi, [rip+passwd_line]
 *   45 mov edx, LEN_PASSWD
 *   4a jmp out
 *   4c do_init: lea rsi, [rip+init_line]
 *   53 mov edx, LEN_INIT
 *   58 out: mov edi, 1           write(1, rsi, rdx)
 *   5d mov eax, 1
 *   62 syscall
 *   64 cmp rax, rdx              a short or failed write: fail
 *   67 jne fail
 *   69 xor edi, edi              exit(0)
 *   6b mov eax, 60
 *   70 syscall
 *   72 key_passwd: "passwd\0"
 *   79 key_init: "initgroups\0"
 *   84 passwd_line, then init_line
 */
const X86_64_CODE = [
  "48833c2402", "722b", "488b5c2410", "488d3d5f000000", "4889de", "b907000000", "f3a6", "741f",
  "488d3d53000000", "4889de", "b90b000000", "f3a6", "741a",
  "bf01000000", "b83c000000", "0f05",
  "488d353f000000", "ba00000000", "eb0c",
  "488d3500000000", "ba00000000",
  "bf01000000", "b801000000", "0f05", "4839d0", "75c9", "31ff", "b83c000000", "0f05",
].join("");
const KEYS = "passwd\0initgroups\0";
/** Offsets (in the code) of the 32-bit fields filled in per stand-in. */
const LEN_PASSWD_AT = 0x46;
const INIT_DISP_AT = 0x4f;
const INIT_LEA_END = 0x53;
const LEN_INIT_AT = 0x54;

/** ELF e_machine for each Node `process.arch` minic has machine code for. */
const MACHINES: Record<string, { machine: number; code: string }> = {
  x64: { machine: 62, code: X86_64_CODE },
};

/** Pure: whether getentElf can make a stand-in for `arch` (a Node `process.arch` name). */
export function hasGetentElf(arch: string): boolean {
  return arch in MACHINES;
}

/**
 * Pure: the stand-in executable for `arch` printing `answers`, or undefined when minic has no
 * machine code for that architecture. Throws RangeError for an answer that is not one line, or
 * longer than MAX_ANSWER bytes.
 */
export function getentElf(arch: string, answers: GetentAnswers): Buffer | undefined {
  const m = MACHINES[arch];
  if (!m) return undefined;
  const passwd = Buffer.from(answers.passwd);
  const init = Buffer.from(answers.initgroups);
  for (const [name, b] of [["passwd", passwd], ["initgroups", init]] as const) {
    const s = b.toString();
    if (b.length > MAX_ANSWER || !s.endsWith("\n") || s.indexOf("\n") !== s.length - 1) throw new RangeError(`getent stand-in: the ${name} answer must be one line of at most ${MAX_ANSWER} bytes`);
  }
  const code = Buffer.from(m.code, "hex");
  const keysAt = code.length;
  const passwdAt = keysAt + KEYS.length;
  code.writeUInt32LE(passwd.length, LEN_PASSWD_AT);
  code.writeInt32LE(passwdAt + passwd.length - INIT_LEA_END, INIT_DISP_AT);
  code.writeUInt32LE(init.length, LEN_INIT_AT);
  const body = Buffer.concat([code, Buffer.from(KEYS, "latin1"), passwd, init]);
  const size = EHDR + PHDR + body.length;
  const h = Buffer.alloc(EHDR + PHDR);
  h.write("\x7fELF", 0, "latin1");
  h.writeUInt8(2, 4); // ELFCLASS64
  h.writeUInt8(1, 5); // little-endian
  h.writeUInt8(1, 6); // EV_CURRENT
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(m.machine, 18);
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(BigInt(BASE + EHDR + PHDR), 24); // entry: the code
  h.writeBigUInt64LE(BigInt(EHDR), 32); // program headers right after this header
  h.writeUInt16LE(EHDR, 52);
  h.writeUInt16LE(PHDR, 54);
  h.writeUInt16LE(1, 56);
  // One PT_LOAD, readable and executable, mapping the whole file at BASE.
  h.writeUInt32LE(1, EHDR);
  h.writeUInt32LE(5, EHDR + 4);
  h.writeBigUInt64LE(0n, EHDR + 8);
  h.writeBigUInt64LE(BigInt(BASE), EHDR + 16);
  h.writeBigUInt64LE(BigInt(BASE), EHDR + 24);
  h.writeBigUInt64LE(BigInt(size), EHDR + 32);
  h.writeBigUInt64LE(BigInt(size), EHDR + 40);
  h.writeBigUInt64LE(0x1000n, EHDR + 48);
  return Buffer.concat([h, body]);
}
