/**
 * The secretary's draft decisions on the console: register a draft with its text and PDF, publish it for
 * residents, put it on the agenda item that carries its number (with a recorded reason when it was
 * published fewer than 10 working days before), enter the amendments deputies, the mayor or a committee
 * submit (a change to the draft's numbered lines), send it to the standing committees (its lead committee
 * first, others for their opinion), and publish the signed decision.
 *
 * @module console-documents
 */

import { changeOf, renderChangeForm } from "./amendments.js";
import { confirmStep, reportBeside } from "./dialog.js";
import { longDate } from "./ukrainian.js";

const $ = (id) => document.getElementById(id);
const today = () => new Date().toISOString().slice(0, 10);

/**
 * @param {{api: Function, t: Function, report: (control: Element, error: any) => void, view: object,
 *          onAmended?: () => void}} page
 */
export function documentsPanel({ api, t, report, view, onAmended }) {
  let documents = [];
  let pending = null; // the schedule command waiting for an override reason

  async function run(id, body, control) {
    try {
      await api(`/documents/${id}/commands`, { method: "POST", body: JSON.stringify({ id: crypto.randomUUID(), ...body }) });
      reportBeside($("documents-panel"), t("done"), "done");
      return true;
    } catch (error) {
      if (error.error === "published_too_late") {
        pending = { id, body };
        $("override-form").hidden = false;
        $("override-form").reason.focus();
      }
      report(control ?? $("documents-panel"), error);
      return false;
    } finally {
      await reload();
    }
  }

  function schedule(doc, control) {
    const state = view.state;
    const item = state?.agenda.find((i) => i.draft === doc.number);
    if (!item) {
      reportBeside(control, t("notOnAgenda", { number: doc.number }), "error");
      return;
    }
    run(doc.id, { type: "document.schedule", session: state.id, item: item.id, date: state.date }, control);
  }

  function statusText(doc) {
    const date = doc.published_on ? longDate(view.lang, doc.published_on) : "";
    return t(`doc_${doc.status}`, { date, number: doc.decision_number ?? "" });
  }

  /** Publishing a draft cannot be undone: ask first, naming the draft. */
  async function publishDraft(doc, control) {
    const sure = await confirmStep({
      title: t("confirmPublishDraftTitle"),
      text: t("confirmPublishDraft", { number: doc.number, title: doc.title }),
      confirm: t("confirmPublishDraftYes"),
      cancel: t("confirmCancel"),
    });
    if (sure) await run(doc.id, { type: "document.publish_draft", date: today() }, control);
  }

  /** A PDF begins with «%PDF-»: checked here, so a wrong file is refused before anything is recorded. */
  async function isPdf(file) {
    const head = new Uint8Array(await file.slice(0, 5).arrayBuffer());
    return String.fromCharCode(...head) === "%PDF-";
  }

  async function upload(id, file) {
    await api(`/documents/${id}/attachments?name=${encodeURIComponent(file.name)}`, {
      method: "POST",
      body: file,
      headers: { "Content-Type": "application/pdf" },
    });
  }

  /** The PDF of a draft registered without one (or whose upload failed): chosen and attached now. */
  function attachLater(doc, control) {
    const input = Object.assign(document.createElement("input"), { type: "file", accept: "application/pdf" });
    input.addEventListener("change", async () => {
      const file = input.files?.[0];
      if (!file) return;
      if (!(await isPdf(file))) return reportBeside(control, t("notPdf"), "error");
      try {
        await upload(doc.id, file);
        reportBeside($("documents-panel"), t("done"), "done");
      } catch (error) {
        report(control, error);
      }
      await reload();
    });
    input.click();
  }

  function button(text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.dataset.panel = "documents-panel";
    b.addEventListener("click", (event) => onClick(event.currentTarget));
    return b;
  }

  /**
   * The committees a draft is sent to, and sending it to one more: the first is its lead committee (it
   * prepares the draft), the others give their opinion.
   */
  function committeesOf(doc) {
    const box = Object.assign(document.createElement("div"), { className: "committees-of" });
    const name = (id) => view.council?.committees?.find((c) => c.id === id)?.name ?? id;
    const sent = Object.entries(doc.committees);
    if (sent.length) {
      const list = sent.map(([id, lead]) => (lead ? `${name(id)} (${t("leadTag")})` : name(id))).join("; ");
      box.append(Object.assign(document.createElement("p"), { textContent: t("sentTo", { list }) }));
    }
    const left = (view.council?.committees ?? []).filter((c) => !(c.id in doc.committees));
    if (!left.length) return box;
    const select = document.createElement("select");
    select.setAttribute("aria-label", `${t("sendTo")}: ${doc.number}`);
    select.append(...left.map((c) => new Option(c.name, c.id)));
    const lead = !sent.some(([, isLead]) => isLead);
    box.append(
      select,
      " ",
      button(t(lead ? "sendToLead" : "sendTo"), (b) => run(doc.id, { type: "draft.assign", committee: select.value, lead }, b)),
    );
    return box;
  }

  function render() {
    const items = documents.map((doc) => {
      const li = document.createElement("li");
      li.dataset.document = doc.id;
      li.append(`${doc.number}. ${doc.title} — ${statusText(doc)} `);
      if (doc.attachment) {
        const link = Object.assign(document.createElement("a"), { href: `/api/v1/files/${doc.attachment}`, textContent: t("pdf") });
        link.target = "_blank";
        link.rel = "noopener";
        li.append(link, " ");
      }
      if (doc.status === "registered" && !doc.attachment) li.append(button(t("addFile"), (b) => attachLater(doc, b)), " ");
      if (doc.status === "registered") li.append(button(t("publishDraft"), (b) => publishDraft(doc, b)));
      if (doc.status === "published_draft") li.append(button(t("schedule"), (b) => schedule(doc, b)));
      if (doc.status === "signed") li.append(button(t("publishDecision"), (b) => run(doc.id, { type: "document.publish", date: today() }, b)));
      if (["registered", "published_draft", "scheduled"].includes(doc.status)) li.append(committeesOf(doc));
      return li;
    });
    const empty = Object.assign(document.createElement("li"), { textContent: t("noDocuments"), className: "empty" });
    $("documents").replaceChildren(...(items.length ? items : [empty]));
    renderAmendmentForm();
  }

  /** The amendment form: drafts that have a text and are not decided yet; authors from the council. */
  function renderAmendmentForm() {
    const amendable = documents.filter((d) => d.lines > 0 && ["registered", "published_draft", "scheduled"].includes(d.status));
    const chosen = $("am-draft").value;
    $("am-draft").replaceChildren(
      ...(amendable.length
        ? amendable.map((d) => new Option(`${d.number}. ${d.title}`, d.id))
        : [new Option(t("amNoDrafts"), "")]),
    );
    if (amendable.some((d) => d.id === chosen)) $("am-draft").value = chosen;
    $("am-send").disabled = !amendable.length;
    const author = $("am-author").value;
    const deputies = (view.council?.deputies ?? []).filter((d) => !d.mayor);
    $("am-author").replaceChildren(
      ...deputies.map((d) => new Option(d.name, d.id)),
      new Option(t("amMayor"), "mayor"),
      new Option(t("amCommittee"), "committee"),
    );
    if (author) $("am-author").value = author;
    renderChangeFields();
  }

  /** The form follows its choices: the change's fields (`amendments.js`), a committee's name. */
  function renderChangeFields() {
    renderChangeForm(view.lang);
    $("am-committee-row").hidden = $("am-author").value !== "committee";
    $("amendment-form").committee.required = $("am-author").value === "committee";
  }

  async function propose(form) {
    const data = new FormData(form);
    const change = changeOf(data);
    const who = String(data.get("author"));
    const author =
      who === "mayor" ? { kind: "mayor" } : who === "committee" ? { kind: "committee", name: String(data.get("committee")) } : { kind: "deputy", member: who };
    const body = { type: "amendment.propose", author, reason: String(data.get("reason")), changes: [change] };
    if (await run(String(data.get("document")), body, form)) {
      form.reset();
      onAmended?.();
    }
  }

  async function reload() {
    const { documents: rows } = await (await fetch("/api/v1/documents")).json();
    documents = await Promise.all(
      rows.map(async (row) => {
        const full = await (await fetch(`/api/v1/documents/${row.id}`)).json();
        const lines = full.draft_text ? full.draft_text.split("\n").length : 0;
        return { ...row, attachment: full.attachments?.[0]?.sha256 ?? null, lines, committees: full.committees ?? {} };
      }),
    );
    render();
  }

  async function register(form) {
    const data = new FormData(form);
    const body = Object.fromEntries(["document", "number", "title", "initiator", "rapporteur", "text"].map((k) => [k, String(data.get(k) ?? "").replace(/\r\n?/g, "\n")]));
    const file = data.get("file");
    if (file && file.size && !(await isPdf(file))) {
      reportBeside(form, t("notPdf"), "error"); // nothing registered: the form can be sent again as it is
      return;
    }
    try {
      await api("/documents", { method: "POST", body: JSON.stringify({ id: crypto.randomUUID(), ...body }) });
      if (file && file.size) await upload(body.document, file);
      form.reset();
      reportBeside(form, t("done"), "done");
    } catch (error) {
      report(form, error);
    }
    await reload();
  }

  $("amendment-form").addEventListener("submit", (event) => {
    event.preventDefault();
    propose(event.target);
  });
  $("am-op").addEventListener("change", renderChangeFields);
  $("am-author").addEventListener("change", renderChangeFields);
  $("register-form").addEventListener("submit", (event) => {
    event.preventDefault();
    register(event.target);
  });
  $("override-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pending) return;
    const reason = new FormData(event.target).get("reason");
    const { id, body } = pending;
    pending = null;
    if (await run(id, { ...body, override_reason: reason }, event.target)) {
      event.target.reset();
      $("override-form").hidden = true;
    }
  });

  let soon = null;
  /** Reload once things settle (several events of one commit ask together). */
  function reloadSoon() {
    clearTimeout(soon);
    soon = setTimeout(() => reload().catch(() => undefined), 500);
  }

  return { reload, reloadSoon, render };
}
