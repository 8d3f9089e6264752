/**
 * «Перевірити свій голос» (`/receipt`): a receipt — a file, one kept on this device, or the QR code's
 * address (`/receipt#s=<sitting>&i=<index>&h=<leaf hash>&n=<size>&r=<root>`, base64url) — checked
 * against the ledger the council publishes now, in the browser with its own code: the receipt in itself
 * (a file's checkpoint signed by the council, its inclusion proof), then the current checkpoint (signed by
 * the council, cosigned by the witnesses the council lists), a consistency proof from the checkpoint the
 * tablet saw to the current one, and the inclusion proof of the ballot in the current tree.
 */

import {
  checkReceipt,
  consistencyHolds,
  cosignedBy,
  councilSigned,
  fromBase64,
  inclusionHolds,
  isSittingOrigin,
  parseNote,
} from "./ledger-proofs.js";
import { keptReceipts } from "./receipts.js";
import { STRINGS, format } from "./receipt-strings.js";

const $ = (id) => document.getElementById(id);
const view = { lang: localStorage.getItem("kvorum.lang") === "en" ? "en" : "uk", council: null, last: null };
const t = (key, params) => format(STRINGS[view.lang], key, params);
const fromBase64url = (text) => fromBase64(text.replaceAll("-", "+").replaceAll("_", "/").padEnd(Math.ceil(text.length / 4) * 4, "="));

class Refused extends Error {}

async function json(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Refused("unreachable");
  return response.json();
}

/** The lines of the verdict: `[key, params]` each, or a Refused with the warning's key. */
async function verify({ session, index, hash, size, root, event }) {
  const base = `/api/v1/sessions/${encodeURIComponent(session)}/ledger`;
  let noteText;
  let vkeys;
  try {
    noteText = await (await fetch(`${base}/checkpoint`)).text();
    vkeys = (await (await fetch("/.well-known/kvorum/keys")).text()).split("\n").filter(Boolean);
  } catch {
    throw new Refused("unreachable");
  }
  let current;
  try {
    current = parseNote(noteText);
  } catch {
    throw new Refused("unreachable");
  }
  if (!isSittingOrigin(current.origin, session)) throw new Refused("unreachable"); // another sitting's log
  if (!(await councilSigned(current, vkeys))) throw new Refused("badCheckpoint");
  if (current.size < size) throw new Refused("notExtended");
  const consistency =
    current.size === size ? [] : (await json(`${base}/consistency?from=${size}&to=${current.size}`)).hashes;
  if (!(await consistencyHolds(size, current.size, root, current.root, consistency.map(fromBase64)))) {
    throw new Refused("notExtended");
  }
  const inclusion = await json(`${base}/inclusion?index=${index}&size=${current.size}`);
  if (!(await inclusionHolds(hash, index, current.size, inclusion.hashes.map(fromBase64), current.root))) {
    throw new Refused("missing");
  }
  const lines = [["ok", { session, seq: index + 1 }]];
  if (event) {
    const deputy = view.council?.deputies.find((d) => d.id === event.payload.deputy)?.name ?? event.payload.deputy;
    const sitting = await json(`/api/v1/sessions/${encodeURIComponent(session)}`).catch(() => null);
    const vote = sitting?.state.votes.find((v) => v.id === event.payload.vote);
    const number = sitting?.state.agenda.find((i) => i.id === vote?.item)?.number;
    lines.push([
      "okBallot",
      {
        deputy,
        subject: vote?.subject ?? event.payload.vote,
        item: number ? t("okItem", { number }) : "",
        choice: event.payload.choice ? t("okChoice", { choice: t(event.payload.choice) }) : "",
      },
    ]);
  }
  lines.push(["okExtends", { size: current.size, seen: size }]);
  const witnesses = view.council?.witnesses ?? [];
  const needed = view.council?.witnesses_needed ?? 0;
  const names = await cosignedBy(current, witnesses);
  if (!witnesses.length) lines.push(["noWitnesses", {}]);
  else if (names.length < needed) lines.push(["fewWitnesses", { count: names.length, needed }]);
  else lines.push(["okWitnesses", { count: names.length, names: names.join(", "), needed }]);
  return lines;
}

/** Check a receipt file's contents (kvorum-receipt-v1) in itself, then against the current ledger. */
async function verifyReceipt(receipt) {
  const vkeys = (await (await fetch("/.well-known/kvorum/keys")).text()).split("\n").filter(Boolean);
  const checked = await checkReceipt(receipt, vkeys, view.council?.witnesses ?? []);
  if (!checked.ok) throw new Refused(checked.why);
  const { note, hash, event } = checked;
  return verify({ session: receipt.session, index: receipt.index, hash, size: note.size, root: note.root, event });
}

function show(lines, bad) {
  view.last = { lines, bad };
  $("verdict-panel").hidden = false;
  $("verdict").dataset.state = bad ? "bad" : "ok";
  $("verdict").replaceChildren(
    ...lines.map(([key, params]) => {
      const item = document.createElement("li");
      item.textContent = t(key, params);
      item.dataset.key = key;
      return item;
    }),
  );
}

async function run(check, lead = []) {
  show([...lead, ["checking", {}]], false);
  try {
    show([...lead, ...(await check())], false);
  } catch (error) {
    const key = error instanceof Refused ? error.message : "notReceipt";
    show([...lead, [key, { session: "" }]], true);
  }
}

function fromQr() {
  const fields = new URLSearchParams(location.hash.slice(1));
  if (!fields.get("s") || !fields.get("h")) return false;
  const session = fields.get("s");
  const index = Number(fields.get("i"));
  run(
    () =>
      verify({
        session,
        index,
        hash: fromBase64url(fields.get("h")),
        size: Number(fields.get("n")),
        root: fromBase64url(fields.get("r")),
      }),
    [["fromQr", { session, seq: index + 1 }]],
  );
  return true;
}

function renderKept() {
  const kept = keptReceipts().slice().reverse();
  $("none-kept").hidden = kept.length > 0;
  $("kept").replaceChildren(
    ...kept.map((entry) => {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = t("keptLine", { session: entry.session, seq: entry.seq, subject: entry.subject ?? "" });
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = t("check");
      button.addEventListener("click", () => run(() => verifyReceipt(entry.receipt)));
      item.append(label, " ", button);
      return item;
    }),
  );
}

function renderTexts() {
  document.documentElement.lang = view.lang;
  document.title = t("title");
  for (const [id, key] of Object.entries({
    heading: "heading",
    intro: "intro",
    "file-label": "fileLabel",
    "kept-title": "keptTitle",
    "none-kept": "noneKept",
    lang: "otherLang",
  })) {
    $(id).textContent = t(key);
  }
  renderKept();
  if (view.last) show(view.last.lines, view.last.bad);
}

async function main() {
  $("lang").addEventListener("click", () => {
    view.lang = view.lang === "uk" ? "en" : "uk";
    localStorage.setItem("kvorum.lang", view.lang);
    renderTexts();
  });
  $("file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    let receipt;
    try {
      receipt = JSON.parse(await file.text());
    } catch {
      show([["notReceipt", {}]], true);
      return;
    }
    run(() => verifyReceipt(receipt));
  });
  view.council = await fetch("/api/v1/council")
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  $("council").textContent = view.council?.name ?? "";
  renderTexts();
  fromQr();
  window.addEventListener("hashchange", fromQr); // another receipt's QR address opened on this page
}

main();
