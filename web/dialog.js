/**
 * Dialogs the signed-in pages share: a confirmation that names what will happen before an
 * irreversible step, and the place an error is shown — beside the control that caused it, announced
 * to screen readers, scrolled into view.
 *
 * @module dialog
 */

/**
 * Ask before an irreversible step. Resolves true when confirmed, false when cancelled (Escape too).
 *
 * @param {{title: string, text: string, confirm: string, cancel: string, danger?: boolean}} options
 * @returns {Promise<boolean>}
 */
export function confirmStep({ title, text, confirm, cancel, danger = false }) {
  const dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.setAttribute("aria-labelledby", "confirm-title");
  dialog.setAttribute("aria-describedby", "confirm-text");
  const heading = Object.assign(document.createElement("h2"), { id: "confirm-title", textContent: title });
  const body = Object.assign(document.createElement("p"), { id: "confirm-text", textContent: text });
  const row = Object.assign(document.createElement("div"), { className: "row" });
  const yes = Object.assign(document.createElement("button"), {
    type: "button",
    className: danger ? "danger" : "primary",
    textContent: confirm,
  });
  yes.dataset.answer = "yes";
  const no = Object.assign(document.createElement("button"), { type: "button", textContent: cancel });
  no.dataset.answer = "no";
  row.append(no, yes);
  dialog.append(heading, body, row);
  document.body.append(dialog);
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => finish(true));
    no.addEventListener("click", () => finish(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    dialog.showModal();
    no.focus(); // the safe choice has the focus: Enter does not close a sitting by accident
  });
}

/**
 * Show `text` in the status line of the panel that holds `control` (created on first use), as an
 * alert when it is an error; the line is scrolled into view so the person who acted sees it.
 *
 * @param {Element} control the button or form that caused it (a button that may be re-rendered names
 *   its panel's id in `data-panel`)
 * @param {string} text empty to clear
 * @param {"" | "done" | "pending" | "error"} [state]
 */
export function reportBeside(control, text, state = "") {
  // A control re-rendered away meanwhile (a list row) reports in its panel, found by its `data-panel`.
  const anchor = control.isConnected ? control : document.getElementById(control.dataset?.panel ?? "") ?? control;
  const panel = anchor.closest("section, details, dialog, form") ?? document.body;
  let line = panel.querySelector(":scope > .panel-status");
  if (!line) {
    line = document.createElement("p");
    line.className = "panel-status";
    line.setAttribute("aria-live", "polite");
    panel.append(line);
  }
  line.setAttribute("role", state === "error" ? "alert" : "status");
  line.dataset.state = state;
  line.textContent = text;
  clearTimeout(line.kvorumClear);
  if (state === "done") line.kvorumClear = setTimeout(() => line.dataset.state === "done" && (line.textContent = ""), 4000);
  if (text && state === "error") line.scrollIntoView?.({ block: "nearest" });
  return line;
}

/**
 * Mark the field named by a refused request (`error.field`) in `form` as invalid, described by the
 * status line, and focus it; other fields of the form are cleared.
 *
 * @param {HTMLFormElement | null} form
 * @param {any} error
 * @param {HTMLElement} line the status line that holds the sentence
 */
export function markField(form, error, line) {
  if (!form) return;
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const name = error?.field ? String(error.field).split(".").at(-1) : null;
  const exact = error?.field ? form.querySelector(`[data-field="${CSS.escape(String(error.field))}"]`) : null;
  const input = exact ?? (name ? form.elements.namedItem(name) : null);
  if (!(input instanceof HTMLElement)) return;
  if (!line.id) line.id = `status-${Math.random().toString(36).slice(2)}`;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", line.id);
  input.focus();
}
