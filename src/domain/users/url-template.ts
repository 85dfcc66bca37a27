import { Errors } from "../errors.js";

/**
 * URL templates (codes.md §7, roster-decisions.md decision 10): literal text plus the three
 * placeholders `{{.UserID}}`, `{{.Code}}` and `{{.OrgID}}`. Nothing is evaluated; anything else
 * between `{{` and `}}` is refused rather than interpreted.
 */

export type Placeholder = "UserID" | "Code" | "OrgID";

export interface ParsedTemplate {
  readonly source: string;
  readonly parts: ReadonlyArray<string | { placeholder: Placeholder }>;
}

export interface TemplateValues {
  userId: string;
  code: string;
  orgId: string;
}

const OPEN = "{{";
const CLOSE = "}}";
const PLACEHOLDERS: Record<string, Placeholder> = {
  ".UserID": "UserID",
  ".Code": "Code",
  ".OrgID": "OrgID",
};

/** Values shaped like real ones (decimal ids, an A–Z0–9 code) to check what a template renders to. */
const SAMPLE_VALUES: TemplateValues = {
  userId: "300000000000000100",
  code: "K3M9QA",
  orgId: "300000000000000001",
};

const ABSOLUTE_HTTP_URL = /^https?:\/\//i;

/**
 * Parses and validates a template. An unclosed `{{` or an empty action → DOMAIN-oGh5e; any other
 * action, or a template that does not render to an absolute http(s) URL → DOMAIN-ieYa7.
 */
export function parseUrlTemplate(source: string): ParsedTemplate {
  const parts: Array<string | { placeholder: Placeholder }> = [];
  let pos = 0;
  for (;;) {
    const open = source.indexOf(OPEN, pos);
    if (open < 0) break;
    const close = source.indexOf(CLOSE, open + OPEN.length);
    if (close < 0) throw Errors.urlTemplateMalformed();
    const action = source.slice(open + OPEN.length, close).replace(/^[ \t]+|[ \t]+$/g, "");
    if (action === "") throw Errors.urlTemplateMalformed();
    const placeholder = Object.hasOwn(PLACEHOLDERS, action) ? PLACEHOLDERS[action] : undefined;
    if (!placeholder) throw Errors.urlTemplateUnsupported();
    if (open > pos) parts.push(source.slice(pos, open));
    parts.push({ placeholder });
    pos = close + CLOSE.length;
  }
  if (pos < source.length) parts.push(source.slice(pos));

  const template: ParsedTemplate = { source, parts };
  if (!isAbsoluteHttpUrl(renderUrlTemplate(template, SAMPLE_VALUES))) {
    throw Errors.urlTemplateUnsupported();
  }
  return template;
}

/** Inserts the values verbatim: ids are digits and codes are A–Z0–9, so nothing needs escaping. */
export function renderUrlTemplate(template: ParsedTemplate | string, values: TemplateValues): string {
  const parsed = typeof template === "string" ? parseUrlTemplate(template) : template;
  return parsed.parts
    .map((part) => (typeof part === "string" ? part : valueOf(part.placeholder, values)))
    .join("");
}

function valueOf(placeholder: Placeholder, values: TemplateValues): string {
  switch (placeholder) {
    case "UserID":
      return values.userId;
    case "Code":
      return values.code;
    case "OrgID":
      return values.orgId;
  }
}

function isAbsoluteHttpUrl(rendered: string): boolean {
  // The prefix check refuses what the WHATWG parser would quietly repair (`https:x`, leading
  // spaces); the parser then refuses what is not a URL at all (bad host, bad port).
  if (!ABSOLUTE_HTTP_URL.test(rendered)) return false;
  try {
    const url = new URL(rendered);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
