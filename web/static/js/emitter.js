// @ts-check
// The one event emitter of the browser modules (signaling.js, assistant.js): handlers by
// type, each called in turn, and one failing handler never stops the others.

/**
 * @template {string} [T=string]
 */
export class Emitter {
  /** @type {Map<string, Array<(detail: any) => void>>} */
  #handlers = new Map();

  /**
   * Call `handler` with the detail of every `type` event; chainable.
   * @param {T} type
   * @param {(detail: any) => void} handler
   * @returns {this}
   */
  on(type, handler) {
    const list = this.#handlers.get(type) || [];
    list.push(handler);
    this.#handlers.set(type, list);
    return this;
  }

  /**
   * @param {T} type
   * @param {unknown} [detail]
   */
  emit(type, detail) {
    for (const handler of this.#handlers.get(type) || []) {
      try {
        handler(detail);
      } catch (error) {
        console.error(`handler for "${type}" failed`, error);
      }
    }
  }
}
