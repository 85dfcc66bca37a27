/**
 * Message templates: plain files named `<message>.<language>.<part>`, e.g.
 * `email-verification.de.body.html`. Roster ships English and German next to this module
 * (templates/); a directory given by ROSTER_TEMPLATES_DIR overrides any file of the same name and
 * may add languages. Placeholders are `{{name}}`; values are HTML-escaped in `.html` parts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The templates shipped with Roster, found relative to this module (source or compiled). */
const BUILT_IN_TEMPLATES_DIR = fileURLToPath(new URL("./templates/", import.meta.url));

export type MessageKind = "email-verification" | "password-reset" | "phone-verification";
export type TemplatePart = "subject.txt" | "body.txt" | "body.html" | "sms.txt";

const FALLBACK_LANGUAGE = "en";

export const PLACEHOLDERS = ["displayName", "code", "link", "expiryMinutes", "userId", "orgId"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type TemplateValues = Record<Placeholder, string>;

/** Which parts each message needs for each channel; every one must exist in English. */
export const REQUIRED: Record<"email" | "sms", Array<[MessageKind, TemplatePart[]]>> = {
  email: [
    ["email-verification", ["subject.txt", "body.txt", "body.html"]],
    ["password-reset", ["subject.txt", "body.txt", "body.html"]],
  ],
  sms: [
    ["phone-verification", ["sms.txt"]],
    ["password-reset", ["sms.txt"]],
  ],
};

const FILE_NAME = /^([a-z-]+)\.([a-z]{2,3})\.(subject\.txt|body\.txt|body\.html|sms\.txt)$/;
/** Every `{{…}}` is a placeholder; anything but a known name in it is an error, not literal text. */
const PLACEHOLDER = /\{\{(.*?)\}\}/gs;

type Segment = string | { placeholder: Placeholder };

export interface Templates {
  /** Renders one part in `language` (its primary subtag), falling back to English. */
  render(kind: MessageKind, part: TemplatePart, language: string, values: TemplateValues): string;
  /** The languages that have at least one file. */
  languages(): string[];
}

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

/**
 * Reads every template once (at start): the built-in directory, then the override directory.
 * Throws a TemplateError naming the file for an unknown placeholder, and when a part that a
 * configured channel needs is missing in English.
 */
export function loadTemplates(opts: { overrideDir?: string; builtInDir?: string; channels?: Array<"email" | "sms"> } = {}): Templates {
  const files = new Map<string, Segment[]>();
  const languages = new Set<string>();
  for (const dir of [opts.builtInDir ?? BUILT_IN_TEMPLATES_DIR, opts.overrideDir]) {
    if (!dir) continue;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      throw new TemplateError(`cannot read the templates directory ${dir}: ${(err as Error).message}`);
    }
    for (const name of names) {
      const m = FILE_NAME.exec(name);
      if (!m) continue;
      const source = readFileSync(path.join(dir, name), "utf8");
      files.set(name, parse(name, m[3] === "subject.txt" || m[3] === "sms.txt" ? source.trim() : source));
      languages.add(m[2]!);
    }
  }
  for (const channel of opts.channels ?? (["email", "sms"] as const)) {
    for (const [kind, parts] of REQUIRED[channel]) {
      for (const part of parts) {
        const name = fileName(kind, FALLBACK_LANGUAGE, part);
        if (!files.has(name)) throw new TemplateError(`template ${name} is missing`);
      }
    }
  }
  return {
    render(kind, part, language, values) {
      const primary = language.toLowerCase().split(/[-_]/)[0] ?? "";
      const segments = files.get(fileName(kind, primary, part)) ?? files.get(fileName(kind, FALLBACK_LANGUAGE, part));
      if (!segments) throw new TemplateError(`template ${fileName(kind, FALLBACK_LANGUAGE, part)} is missing`);
      const escape = part.endsWith(".html") ? escapeHtml : (v: string) => v;
      return segments.map((s) => (typeof s === "string" ? s : escape(values[s.placeholder]))).join("");
    },
    languages: () => [...languages].sort(),
  };
}

function fileName(kind: MessageKind, language: string, part: TemplatePart): string {
  return `${kind}.${language}.${part}`;
}

function parse(name: string, source: string): Segment[] {
  const segments: Segment[] = [];
  let pos = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const placeholder = m[1]!.trim() as Placeholder;
    if (!PLACEHOLDERS.includes(placeholder)) {
      throw new TemplateError(`template ${name}: unknown placeholder {{${m[1]}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(", ")})`);
    }
    if (m.index > pos) segments.push(source.slice(pos, m.index));
    segments.push({ placeholder });
    pos = m.index + m[0].length;
  }
  if (pos < source.length) segments.push(source.slice(pos));
  return segments;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
