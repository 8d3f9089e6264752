/**
 * A draft's amendments as people read them, on the tablet and the console: each with its number, author
 * and reason, where it stands (proposed, put to the vote now, adopted, not adopted, withdrawn), the
 * amendments it conflicts with, and its changes shown against the draft's numbered lines — the lines it
 * removes struck through with their numbers, the lines it adds marked.
 *
 * The amendments come from the draft's document (`GET /api/v1/documents/{id}`: `draft_text`,
 * `amendments`); where one stands is read from the sitting's votes first (the vote that decided it is in
 * the log the moment it closes), then from the document.
 *
 * @module amendments
 */

import { amendmentNumber } from "./ukrainian.js";

export const AMENDMENT_STRINGS = {
  uk: {
    title: "Поправки до проєкту {draft}",
    none: "До цього проєкту поправок не подано.",
    heading: "Поправка {number}",
    by: "Автор: {author}",
    mayor: "міський голова",
    committee: "комісія «{name}»",
    reason: "Обґрунтування: {reason}",
    proposedBy: "У висновку її пропонує: {committees}",
    status_proposed: "запропонована",
    status_voting: "голосується зараз",
    status_adopted: "прийнята",
    status_rejected: "не прийнята",
    status_withdrawn: "відкликана автором",
    conflicts: "Змінює ті самі рядки, що й {list}: прийнятою може бути лише одна з них.",
    conflictOne: "поправка {number}",
    conflictMany: "поправки {numbers}",
    replaceOne: "Рядок {from} викласти так:",
    replaceMany: "Рядки {from}–{to} викласти так:",
    insert: "Після рядка {after} додати:",
    insertFirst: "На початку додати:",
    deleteOne: "Рядок {from} вилучити.",
    deleteMany: "Рядки {from}–{to} вилучити.",
    removed: "вилучається",
    added: "додається",
    amOp: "Зміна",
    op_replace: "Викласти рядки в новій редакції",
    op_insert: "Додати після рядка",
    op_delete: "Вилучити рядки",
    amFrom: "З рядка",
    amAfter: "Після рядка (0 — на початку)",
    amTo: "По рядок",
    amText: "Нова редакція",
  },
  en: {
    title: "Amendments to draft {draft}",
    none: "No amendments to this draft.",
    heading: "Amendment {number}",
    by: "By: {author}",
    mayor: "the mayor",
    committee: "committee “{name}”",
    reason: "Reason: {reason}",
    proposedBy: "Proposed in the conclusion of: {committees}",
    status_proposed: "proposed",
    status_voting: "being voted now",
    status_adopted: "adopted",
    status_rejected: "not adopted",
    status_withdrawn: "withdrawn by its author",
    conflicts: "Changes the same lines as {list}: only one of them can be adopted.",
    conflictOne: "amendment {number}",
    conflictMany: "amendments {numbers}",
    replaceOne: "Line {from} to read:",
    replaceMany: "Lines {from}–{to} to read:",
    insert: "After line {after}, add:",
    insertFirst: "At the beginning, add:",
    deleteOne: "Delete line {from}.",
    deleteMany: "Delete lines {from}–{to}.",
    removed: "removed",
    added: "added",
    amOp: "Change",
    op_replace: "Reword lines",
    op_insert: "Add after a line",
    op_delete: "Delete lines",
    amFrom: "From line",
    amAfter: "After line (0: at the beginning)",
    amTo: "To line",
    amText: "New wording",
  },
};

const fill = (lang, key, params = {}) =>
  (AMENDMENT_STRINGS[lang][key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));

/** Where the amendment stands: from the sitting's votes when one of them put it, else from its document. */
export function amendmentStatus(amendment, votes = []) {
  if (amendment.status === "withdrawn") return "withdrawn";
  // (a committee's conclusion names the amendments it proposes; only an amendment vote decides them)
  const put = votes.filter((v) => v.kind === "amendment" && (v.amendments ?? []).includes(amendment.id) && v.status !== "cancelled");
  const last = put.at(-1);
  if (last?.status === "open") return "voting";
  if (last?.status === "closed" && last.tally) return last.tally.outcome === "adopted" ? "adopted" : "rejected";
  return amendment.status;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function authorText(lang, author, deputyName) {
  if (author.kind === "mayor") return fill(lang, "mayor");
  if (author.kind === "committee") return fill(lang, "committee", { name: author.name });
  return deputyName(author.member);
}

/** One line of the diff: its number in the draft (for a removed line), a sign, and the text. */
function diffLine(lang, op, number, text) {
  const li = element("li", `diff-${op}`);
  li.append(element("span", "ln", number ? String(number) : ""));
  const words = element(op === "removed" ? "del" : "ins", "", text || " ");
  words.setAttribute("aria-label", `${fill(lang, op)}: ${text}`);
  li.append(words);
  return li;
}

/** A change against the draft's lines: what it says to do, then the lines removed and added. */
function changeBlock(lang, change, draftLines) {
  const block = element("div", "change");
  const many = change.op !== "insert" && change.to !== change.from;
  const key =
    change.op === "insert"
      ? change.after === 0 ? "insertFirst" : "insert"
      : `${change.op}${many ? "Many" : "One"}`;
  block.append(element("p", "where", fill(lang, key, change)));
  const lines = element("ol", "diff");
  if (change.op !== "insert") {
    for (let n = change.from; n <= change.to; n += 1) lines.append(diffLine(lang, "removed", n, draftLines[n - 1] ?? ""));
  }
  if (change.op !== "delete") {
    for (const text of String(change.text).split("\n")) lines.append(diffLine(lang, "added", null, text));
  }
  block.append(lines);
  return block;
}

/**
 * The amendments of `draft` (its document) as a list of articles; the one(s) put to the open vote marked,
 * each with the committees whose conclusions propose it.
 * @param {{lang: string, draft: {number: string, draft_text: string, amendments: any[]},
 *          votes: any[], deputyName: (id: string) => string, committeeName?: (id: string) => string}} options
 */
export function amendmentArticles({ lang, draft, votes, deputyName, committeeName = (id) => id }) {
  const draftLines = draft.draft_text ? draft.draft_text.split("\n") : [];
  if (!draft.amendments?.length) return [element("p", "none", fill(lang, "none"))];
  return draft.amendments.map((amendment) => {
    const status = amendmentStatus(amendment, votes);
    const article = element("article", "amendment");
    article.dataset.amendment = amendment.id;
    article.dataset.status = status;
    const head = element("h3", "", fill(lang, "heading", { number: amendment.number }));
    head.append(" ", element("span", "amendment-status", fill(lang, `status_${status}`)));
    article.append(head);
    article.append(element("p", "by", fill(lang, "by", { author: authorText(lang, amendment.author, deputyName) })));
    article.append(element("p", "reason", fill(lang, "reason", { reason: amendment.reason })));
    // the committees whose conclusions propose it (`proposed_by`, portal_bridge/amendment_views.py)
    const committees = (amendment.proposed_by ?? []).map(committeeName);
    if (committees.length) article.append(element("p", "proposed-by", fill(lang, "proposedBy", { committees: committees.join("; ") })));
    const rivals = status === "withdrawn" ? [] : (amendment.conflicts_with ?? []);
    if (rivals.length) {
      const list = rivals.length > 1
        ? fill(lang, "conflictMany", { numbers: rivals.join(", ") })
        : fill(lang, "conflictOne", { number: rivals[0] });
      const warning = element("p", "conflict-flag", `⚠ ${fill(lang, "conflicts", { list })}`);
      article.append(warning);
    }
    for (const change of amendment.changes) article.append(changeBlock(lang, change, draftLines));
    return article;
  });
}

/**
 * The change fields of an amendment form (the console's and the tablet's, the same ids): the kinds of
 * change in `lang`, and the fields following the chosen one — an insertion names the line it follows and
 * has no end line, a deletion has no text.
 */
export function renderChangeForm(lang) {
  const $ = (id) => document.getElementById(id);
  const op = $("am-op").value || "replace";
  if ($("am-op").dataset.lang !== lang) {
    $("am-op").replaceChildren(...["replace", "insert", "delete"].map((o) => new Option(fill(lang, `op_${o}`), o)));
    $("am-op").dataset.lang = lang;
    $("am-op").value = op;
  }
  for (const [id, key] of [["am-op-label", "amOp"], ["am-to-label", "amTo"], ["am-text-label", "amText"]]) {
    $(id).textContent = fill(lang, key);
  }
  $("am-from-label").textContent = fill(lang, op === "insert" ? "amAfter" : "amFrom");
  $("am-to-row").hidden = op === "insert";
  $("am-text-row").hidden = op === "delete";
  $("amendment-form").text.required = op !== "delete";
}

/** The change an amendment form describes, in the API's form (`voting/amendments.py`). */
export function changeOf(data) {
  const op = String(data.get("op"));
  const from = Number(data.get("from"));
  const to = Number(data.get("to")) || from;
  const text = String(data.get("text") ?? "").replace(/\r\n?/g, "\n");
  return op === "insert" ? { op, after: from, text } : op === "delete" ? { op, from, to } : { op, from, to, text };
}

/** The title of the list: «Поправки до проєкту ПР-101». */
export const amendmentsTitle = (lang, number) => fill(lang, "title", { draft: number });

export { amendmentNumber };
