// @ts-check
// The browser side of the action registry (GET /api/navigation/actions): every action has
// one id and one handler, whether it comes from a click, a keyboard shortcut or the voice
// assistant. A page integrates it in a few lines:
//
//   await loadActions({ page: "call" });
//   registerAction("mute", () => setMuted(true), { enabled: () => !muted });
//   registerAction("unmute", () => setMuted(false), { enabled: () => muted });
//   bindShortcuts(document);            // Alt+M performs whichever of the two is enabled
//   bindButtons(document);              // <button data-action="mute"> performs on click
//   renderHelp(helpElement);            // what to say and press on this page
//   // voice: the server's matcher decided; the page calls perform(id, "voice")

import { api } from "./api.js";
import { parseShortcut, shortcutLabel, shortcutMatches } from "./shortcuts.js";

export { parseShortcut, shortcutLabel, shortcutMatches };

/**
 * One action of the registry (telehealth/navigation/actions.py, as the API's JSON).
 * @typedef {object} Action
 * @property {string} id
 * @property {string} description
 * @property {string[]} phrases
 * @property {string} shortcut as aria-keyshortcuts writes it ("Alt+M")
 * @property {string[]} pages
 * @property {boolean} [confirm] asked about before a click or key performs it
 * @property {boolean} [confirmation_answer] a yes or no answer, not a command
 * @property {boolean} [performed_by_assistant] the voice assistant carries it out itself
 *
 * @typedef {object} Registry
 * @property {string} wake_phrase
 * @property {Record<string, { place?: string }>} pages
 * @property {Action[]} actions
 * @property {boolean} [voice] false when the server recognizes no speech
 *
 * @typedef {"click" | "key" | "voice"} ActionSource
 * @typedef {(event: { id: string, source: ActionSource, action: Action }) => unknown} ActionHandler
 */

const REGISTRY_URL = "/api/navigation/actions";
/** @type {Registry} */
let registry = { wake_phrase: "assistant", pages: {}, actions: [] };
/** @type {string | null} */
let currentPage = null;
/** @type {Map<string, Action>} */
const byId = new Map();
/** @type {Map<string, { handler: ActionHandler, enabled: () => boolean }>} */
const handlers = new Map();
/** @type {(action: Action) => Promise<boolean>} */
let confirmer = (action) => Promise.resolve(window.confirm(`${action.description}?`));

/**
 * Use a registry object (the API's JSON); returns it. For tests and pages without a server.
 * @param {Registry} data
 * @param {{ page?: string | null }} [options]
 */
export function useRegistry(data, { page } = {}) {
  registry = data;
  byId.clear();
  for (const action of data.actions) byId.set(action.id, action);
  if (page !== undefined) setPage(page);
  return registry;
}

/**
 * Load the registry from the server; `page` is the page or state the user is on.
 * @param {{ page?: string | null, url?: string }} [options]
 */
export async function loadActions({ page, url = REGISTRY_URL } = {}) {
  return useRegistry(await api(url), { page });
}

/**
 * The user moved to another page or state ("waiting" -> "call").
 * @param {string | null} page
 */
export function setPage(page) {
  currentPage = page;
}

export function currentPageName() {
  return currentPage;
}

/** Whether the server recognizes speech, so voice commands can be offered. */
export function voiceAvailable() {
  return registry.voice !== false;
}

/** The words that start a voice command during a call ("assistant"). */
export function wakePhrase() {
  return registry.wake_phrase;
}

/**
 * "You are in the waiting room." for `page`, from the registry ("" if unknown).
 * @param {string | null} [page]
 */
export function whereText(page = currentPage) {
  const place = page === null ? undefined : registry.pages[page]?.place;
  return place ? `You are ${place}.` : "";
}

/**
 * The action with this id, or undefined.
 * @param {string} id
 */
export function getAction(id) {
  return byId.get(id);
}

/** The ids of the actions the voice assistant carries out itself (faster, help...). */
export function assistantActions() {
  return registry.actions.filter((action) => action.performed_by_assistant).map((a) => a.id);
}

/**
 * The actions of `page` (yes/no answers only with `includeAnswers`).
 * @param {string | null} [page]
 * @param {{ includeAnswers?: boolean }} [options]
 */
export function actionsFor(page = currentPage, { includeAnswers = false } = {}) {
  return registry.actions.filter(
    (action) =>
      (page === null || action.pages.includes(page)) &&
      (includeAnswers || !action.confirmation_answer),
  );
}

/**
 * The one handler of action `id`. `enabled` (optional) says whether it applies right now:
 * mute and unmute share Alt+M, and the key performs the one that is enabled.
 * @param {string} id
 * @param {ActionHandler} handler
 * @param {{ enabled?: () => boolean }} [options]
 */
export function registerAction(id, handler, { enabled } = {}) {
  if (!byId.has(id)) throw new Error(`unknown action ${id}`);
  handlers.set(id, { handler, enabled: enabled || (() => true) });
  return () => {
    if (handlers.get(id)?.handler === handler) handlers.delete(id);
  };
}

/**
 * How to ask before an action that needs confirmation (click or key).
 * @param {(action: Action) => Promise<boolean>} ask
 */
export function setConfirmer(ask) {
  confirmer = ask;
}

/** @param {Action} action */
function available(action) {
  return currentPage === null || action.pages.includes(currentPage);
}

/**
 * Perform action `id` from `source` ("click", "key" or "voice"); resolves to whether it ran.
 * An action with `confirm` is asked about first, unless it came by voice (the voice
 * assistant has already had its yes).
 * @param {string} id
 * @param {ActionSource} [source]
 */
export async function perform(id, source = "click") {
  const action = byId.get(id);
  const entry = handlers.get(id);
  if (!action || !entry || !available(action) || !entry.enabled()) return false;
  if (action.confirm && source !== "voice" && !(await confirmer(action))) return false;
  await entry.handler({ id, source, action });
  document.dispatchEvent(new CustomEvent("telehealth:action", { detail: { id, source } }));
  return true;
}

/** @param {EventTarget | null} target */
function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(
    target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"),
  );
}

/**
 * Perform the page's actions on their shortcuts, for key presses inside `root`. While the
 * user types in a field, only shortcuts with Alt or Control count (all of ours have one).
 * Returns a function that removes the listener.
 * @param {Document | HTMLElement} [root]
 */
export function bindShortcuts(root = document) {
  /** @param {Event} event */
  const onKeyDown = async (event) => {
    if (!(event instanceof KeyboardEvent)) return;
    if (event.repeat || event.defaultPrevented) return;
    const candidates = actionsFor(currentPage, { includeAnswers: true }).filter((action) =>
      shortcutMatches(action.shortcut, event),
    );
    const chosen = candidates.find((action) => handlers.get(action.id)?.enabled());
    if (!chosen) return;
    const mods = parseShortcut(chosen.shortcut);
    if (isTyping(event.target) && !mods.alt && !mods.ctrl) return;
    event.preventDefault();
    await perform(chosen.id, "key");
  };
  root.addEventListener("keydown", onKeyDown);
  return () => root.removeEventListener("keydown", onKeyDown);
}

/**
 * Clicking an element with `data-action="id"` inside `root` performs that action, and the
 * element gets `aria-keyshortcuts` from the registry. Returns a function that unbinds.
 * @param {Document | HTMLElement} [root]
 */
export function bindButtons(root = document) {
  for (const element of root.querySelectorAll("[data-action]")) {
    const action = byId.get(/** @type {HTMLElement} */ (element).dataset.action || "");
    if (action && !element.hasAttribute("aria-keyshortcuts")) {
      element.setAttribute("aria-keyshortcuts", action.shortcut);
    }
  }
  /** @param {Event} event */
  const onClick = (event) => {
    const element = event.target instanceof Element
      ? event.target.closest("[data-action]") : null;
    if (!(element instanceof HTMLElement) || !root.contains(element)) return;
    if ("disabled" in element && element.disabled) return;
    perform(element.dataset.action || "", "click");
  };
  root.addEventListener("click", onClick);
  return () => root.removeEventListener("click", onClick);
}

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [text]
 */
function cell(tag, text) {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  return element;
}

/**
 * Fill `container` with the commands of `page`: what each does, what to say, which keys.
 * In a call, says to start each command with the wake phrase.
 * @param {HTMLElement} container
 * @param {string | null} [page]
 */
export function renderHelp(container, page = currentPage) {
  const wake = registry.wake_phrase;
  const inCall = page === "call";
  const table = cell("table");
  table.className = "actions-help";
  table.append(cell("caption", "Commands on this page"));
  const head = cell("tr");
  for (const title of ["Action", "Say", "Keys"]) {
    const th = cell("th", title);
    th.scope = "col";
    head.append(th);
  }
  const thead = cell("thead");
  thead.append(head);
  table.append(thead);
  const body = cell("tbody");
  for (const action of actionsFor(page)) {
    const row = cell("tr");
    const name = cell("th", action.description);
    name.scope = "row";
    const said = action.phrases.map((p) => `“${inCall ? `${wake}, ${p}` : p}”`).join(" or ");
    const keys = cell("td");
    keys.append(cell("kbd", shortcutLabel(action.shortcut)));
    row.append(name, cell("td", said), keys);
    body.append(row);
  }
  table.append(body);
  const intro = cell(
    "p",
    inCall
      ? `During the call, start each voice command with “${wake}”, for example “${wake}, mute”.`
      : "Say a command, or press its keys.",
  );
  container.replaceChildren(intro, table);
  return table;
}
