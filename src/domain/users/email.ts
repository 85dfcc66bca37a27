import { Errors } from "../errors.js";

/**
 * Email address rules (contract.md §6.3).
 *
 * The field rule mirrors ZITADEL's validator (Go `net/mail` plus a host name check): the value
 * must be one RFC 5322 mailbox — `addr-spec` or `[display-name] <addr-spec>` — surrounded by
 * optional spaces and comments. Deliberate simplifications: no folding (CR/LF), no comments or
 * spaces inside the addr-spec, no domain literals (`[192.0.2.1]`, which are no host names anyway),
 * and no groups. Non-ASCII characters are allowed where RFC 6532 allows them (local part, display
 * name); the domain must be an ASCII host name.
 *
 * Single-label domains (`ada@localhost`) are accepted, as ZITADEL accepts them: its host name
 * check only constrains the labels, not their number.
 */

export interface ParsedMailbox {
  /** `local@domain` as written in the value (a quoted local part keeps its quotes). */
  address: string;
  localPart: string;
  domain: string;
  /** A display name or a comment accompanies the address. */
  hasDisplayName: boolean;
}

const MAX_LOCAL_PART_BYTES = 64;
const MAX_ADDRESS_BYTES = 254;
const MAX_DOMAIN_CHARS = 253;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const ATEXT_ASCII = /[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/;

/** Field rule "email address": true when the value passes it. */
export function isEmailFieldValid(value: string): boolean {
  const mailbox = parseMailbox(value);
  if (!mailbox) return false;
  return (
    utf8Length(mailbox.localPart) <= MAX_LOCAL_PART_BYTES &&
    utf8Length(mailbox.address) <= MAX_ADDRESS_BYTES &&
    isHostName(mailbox.domain)
  );
}

/**
 * The address check that follows the field rule: the value must be a bare address.
 * Returns the address; a display name → EMAIL-599GV, unparsable → EMAIL-599BI.
 */
export function checkPlainAddress(value: string): string {
  const mailbox = parseMailbox(value);
  if (!mailbox) throw Errors.emailInvalid();
  if (mailbox.hasDisplayName) throw Errors.emailHasDisplayName();
  return mailbox.address;
}

export function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > MAX_DOMAIN_CHARS) return false;
  return host.split(".").every((label) => HOST_LABEL.test(label));
}

/** Parses one mailbox; undefined when the value is not exactly one. */
export function parseMailbox(value: string): ParsedMailbox | undefined {
  const p = new Cursor(value);
  const result = p.mailbox();
  return result && p.atEnd() ? result : undefined;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

function isWsp(ch: string): boolean {
  return ch === " " || ch === "\t";
}

function isAtext(ch: string): boolean {
  return ATEXT_ASCII.test(ch) || isNonAscii(ch);
}

function isNonAscii(ch: string): boolean {
  return ch.codePointAt(0)! >= 0x80;
}

/** Printable ASCII (VCHAR) or non-ASCII (RFC 6532). */
function isVchar(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

/** Recursive-descent parser over the code points of the value. */
class Cursor {
  private readonly chars: string[];
  private pos = 0;
  private sawComment = false;

  constructor(value: string) {
    this.chars = Array.from(value);
  }

  atEnd(): boolean {
    return this.pos >= this.chars.length;
  }

  mailbox(): ParsedMailbox | undefined {
    if (!this.cfws()) return undefined;
    const start = this.pos;
    const commentBefore = this.sawComment;
    const bare = this.addrSpec();
    if (bare && this.cfws() && this.atEnd()) return { ...bare, hasDisplayName: this.sawComment };
    this.pos = start;
    this.sawComment = commentBefore;
    return this.nameAddr();
  }

  /** `[display-name] "<" addr-spec ">"`, trailing CFWS included. */
  private nameAddr(): ParsedMailbox | undefined {
    const words = this.phrase();
    if (words === undefined) return undefined;
    if (this.peek() !== "<") return undefined;
    this.pos++;
    this.wsp();
    const spec = this.addrSpec();
    if (!spec) return undefined;
    this.wsp();
    if (this.peek() !== ">") return undefined;
    this.pos++;
    if (!this.cfws()) return undefined;
    return { ...spec, hasDisplayName: words > 0 || this.sawComment };
  }

  /** Display name: any number of words (atoms with dots, or quoted strings) with CFWS between. */
  private phrase(): number | undefined {
    let words = 0;
    for (;;) {
      if (!this.cfws()) return undefined;
      const ch = this.peek();
      if (ch === '"') {
        if (this.quotedString(true) === undefined) return undefined;
      } else if (ch !== undefined && (isAtext(ch) || ch === ".")) {
        this.run((c) => isAtext(c) || c === ".");
      } else {
        return words;
      }
      words++;
    }
  }

  private addrSpec(): Omit<ParsedMailbox, "hasDisplayName"> | undefined {
    const localPart = this.peek() === '"' ? this.quotedString(false) : this.dotAtom();
    if (!localPart || this.peek() !== "@") return undefined;
    this.pos++;
    const domain = this.dotAtom();
    if (!domain) return undefined;
    return { address: `${localPart}@${domain}`, localPart, domain };
  }

  private dotAtom(): string | undefined {
    const parts: string[] = [];
    for (;;) {
      const atom = this.run(isAtext);
      if (!atom) return undefined;
      parts.push(atom);
      if (this.peek() !== ".") return parts.join(".");
      this.pos++;
    }
  }

  /** Returns the quoted string as written (with quotes); undefined when malformed. */
  private quotedString(allowEmpty: boolean): string | undefined {
    const start = this.pos;
    this.pos++; // opening quote
    let content = 0;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) return undefined;
      this.pos++;
      if (ch === '"') break;
      if (ch === "\\") {
        const next = this.peek();
        if (next === undefined || !(isVchar(next) || isWsp(next))) return undefined;
        this.pos++;
      } else if (!(isVchar(ch) || isWsp(ch))) {
        return undefined;
      }
      content++;
    }
    if (content === 0 && !allowEmpty) return undefined;
    return this.chars.slice(start, this.pos).join("");
  }

  /** Skips spaces, tabs and (nested) comments; false when a comment is unterminated or malformed. */
  private cfws(): boolean {
    for (;;) {
      this.wsp();
      if (this.peek() !== "(") return true;
      if (!this.comment()) return false;
      this.sawComment = true;
    }
  }

  private comment(): boolean {
    let depth = 0;
    while (!this.atEnd()) {
      const ch = this.chars[this.pos++];
      if (ch === "(") depth++;
      else if (ch === ")") {
        if (--depth === 0) return true;
      } else if (ch === "\\") {
        const next = this.peek();
        if (next === undefined || !(isVchar(next) || isWsp(next))) return false;
        this.pos++;
      } else if (!(isVchar(ch) || isWsp(ch))) {
        return false;
      }
    }
    return false;
  }

  private wsp(): void {
    this.run(isWsp);
  }

  private run(accept: (ch: string) => boolean): string {
    const start = this.pos;
    while (!this.atEnd() && accept(this.chars[this.pos])) this.pos++;
    return this.chars.slice(start, this.pos).join("");
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
}
