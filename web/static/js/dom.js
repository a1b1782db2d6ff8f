// @ts-check
// The small DOM helpers every page uses: find an element by id, make one with its text.
// Text always goes in with textContent, never as markup.

/**
 * The element with this id (the page's template has it; `null` only if it does not, so
 * `$("x")?.remove()` is the way to ask about an element a script adds itself).
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} id
 * @returns {E}
 */
export function $(id) {
  return /** @type {E} */ (document.getElementById(id));
}

/**
 * A new element: `make("p", { className: "hint", text: "..." }, child, ...)`. A child that
 * is `null` or `undefined` is left out, so an optional part can be passed as it is.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{ className?: string, text?: string, id?: string, attrs?: Record<string, string> }} [options]
 * @param {Array<Node | string | null | undefined>} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function make(tag, { className, text, id, attrs } = {}, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (id) element.id = id;
  if (text !== undefined) element.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) element.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

/**
 * Whether the `[data-view]` section called `name` is hidden (or absent).
 * @param {string} name
 */
export function viewHidden(name) {
  const view = document.querySelector(`[data-view="${name}"]`);
  return !view || /** @type {HTMLElement} */ (view).hidden;
}
