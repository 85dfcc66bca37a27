/**
 * A few lines instead of a framework: elements are built with `h()`, text always goes in as text
 * nodes (never as HTML), and no style attribute is ever written (the Content-Security-Policy
 * allows none).
 */
export type Child = Node | string | number | bigint | null | undefined | false | Child[];

type Handler<E extends Event = Event> = (event: E) => void;

export interface Props {
  [attribute: string]: string | number | boolean | undefined | null | Handler<never>;
}

/** Properties set as DOM properties rather than attributes (their attribute is only the default). */
const PROPERTIES = new Set(["value", "checked", "selected", "disabled", "required", "hidden", "open"]);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "style") throw new Error("inline styles are not allowed by the CSP");
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value as EventListener);
    } else if (PROPERTIES.has(name)) {
      (el as unknown as Record<string, unknown>)[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the element's content. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** A unique element id, for label/for and aria-describedby pairs. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled input: `<div class="field"><label for>…</label><input id>…<small id>hint</small></div>`. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: Child,
): HTMLDivElement {
  input.id ||= uid("f");
  const hintEl = hint ? h("small", { id: `${input.id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input, hintEl);
}

export function input(props: Props): HTMLInputElement {
  return h("input", { type: "text", ...props });
}

export function select(name: string, options: Array<[value: string, label: string]>, selected: string): HTMLSelectElement {
  return h("select", { name }, options.map(([value, label]) => h("option", { value, selected: value === selected }, label)));
}

/** A group of radio buttons in a fieldset with a legend. */
export function radios(legend: string, name: string, options: Array<[value: string, label: string]>, checked: string): HTMLFieldSetElement {
  return h(
    "fieldset",
    { class: "radios" },
    h("legend", null, legend),
    options.map(([value, label]) => {
      const id = uid(name);
      return h("div", { class: "radio" }, h("input", { type: "radio", id, name, value, checked: value === checked }), h("label", { for: id }, label));
    }),
  );
}

export function formValue(form: HTMLFormElement, name: string): string {
  const v = new FormData(form).get(name);
  return typeof v === "string" ? v : "";
}

export function formChecked(form: HTMLFormElement, name: string): boolean {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement && el.checked;
}

/** The page's heading (focus target after navigation) and the document title. */
export function pageHeading(text: string): HTMLHeadingElement {
  document.title = `${text} · Roster`;
  return h("h1", { tabindex: "-1" }, text);
}

/** A polite live region for progress and success messages. */
export function statusRegion(): HTMLDivElement {
  return h("div", { class: "status", role: "status", "aria-live": "polite" });
}

/**
 * Makes a form (or section) unusable while a request runs. `inert` rather than `disabled`: disabled
 * controls would drop out of the FormData the request is built from.
 */
export async function busy<T>(form: HTMLElement, work: () => Promise<T>): Promise<T> {
  form.inert = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    form.inert = false;
    form.removeAttribute("aria-busy");
  }
}
