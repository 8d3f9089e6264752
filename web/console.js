/**
 * The chair's and secretary's console (`/console`): what to do next, at the top; open the sitting
 * and registration, watch the quorum and the composition, step through the agenda, run votes and
 * the speakers' queue, see conflict declarations; propose an item for an open sitting's agenda (the
 * council votes on it). The secretary also schedules sittings, keeps the members' records (their
 * grammatical gender for the official texts), registers drafts and enrolls deputies' tablets.
 *
 * Irreversible steps (closing the sitting or registration, cancelling a vote, finishing an item)
 * ask first, naming what will happen. Every outcome is shown beside the control that caused it, in
 * the language of the page (messages.js), never the server's developer text. Live over the sitting's
 * WebSocket all day on one sign-in; the sitting is `?session=<id>`, else the open one, else the newest.
 */

import { amendmentArticles, amendmentStatus } from "./amendments.js";
import { Auth } from "./auth.js";
import { documentsPanel } from "./console-documents.js";
import { storagePanel } from "./console-storage.js";
import { STRINGS, format } from "./console-strings.js";
import { confirmStep, markField, reportBeside } from "./dialog.js";
import { errorText } from "./messages.js";
import { bodyOf, openVote, secondsUntil, shownVote } from "./session-state.js";
import { chooseSitting, followSession, pickSession, savedLanguage, showConnection, wireSignIn } from "./signed-in-page.js";
import {
  amendmentNumber,
  amendmentOutcome,
  committeeName,
  compositionLine,
  conclusionsBlock,
  longDate,
  registrationLine,
} from "./ukrainian.js";
import qrcode from "./vendor/qrcode-generator-2.0.4.mjs";

const STAFF = new Set(["chair", "secretary", "admin"]);
const $ = (id) => document.getElementById(id);

const auth = new Auth();
const view = { lang: savedLanguage(), council: null, sessionId: null, state: null, client: null, sittings: [] };
const s = () => STRINGS[view.lang];
const t = (key, params) => format(s(), key, params);
const name = (id) => view.council?.deputies.find((d) => d.id === id)?.name ?? id;
const editor = () => ["secretary", "admin"].includes(auth.me?.role);
const fieldLabels = (form) =>
  Object.fromEntries(
    [...(form?.querySelectorAll("label") ?? [])]
      .map((label) => [label.querySelector("input, select, textarea")?.name, label.querySelector("span")?.textContent])
      .filter(([field, text]) => field && text),
  );

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { "Content-Type": "application/json", ...(await auth.headers()), ...(options.headers ?? {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.message ?? response.statusText), { error: body.error ?? "http_error", field: body.field });
  }
  return body;
}

/** Show a refusal (or an outcome) beside `control`, naming a refused field of its form. */
function report(control, error) {
  const line = reportBeside(control, errorText(view.lang, error, fieldLabels(control.closest("form"))), "error");
  markField(control.closest("form"), error, line);
}

/**
 * A sitting command over the socket, its outcome beside `control`; "no connection" while the link
 * is down (the command stays queued and goes out when it is back).
 */
async function command(body, control) {
  reportBeside(control, "");
  const late = setTimeout(() => {
    reportBeside(control, view.client?.status === "open" ? t("sending") : t("notDelivered"), "pending");
  }, 1500);
  try {
    await view.client.send(body);
    reportBeside(control, t("done"), "done");
    return true;
  } catch (error) {
    report(control, error);
    return false;
  } finally {
    clearTimeout(late);
  }
}

// ---- texts -------------------------------------------------------------------------------------

function renderTexts() {
  document.documentElement.lang = s().lang;
  document.title = t("title");
  const texts = {
    lang: "otherLang", "sign-out": "signOut", "sign-in-title": "signInTitle", "username-label": "username",
    "password-label": "password", "sign-in-button": "signIn", "sitting-label": "sittingLabel", "next-title": "next",
    "meeting-title": "meeting", "open-session": "openSession", "close-session": "closeSession",
    "registration-title": "registration", "open-registration": "openRegistration",
    "close-registration": "closeRegistration", "agenda-title": "agenda", "vote-title": "vote",
    "subject-label": "subject", "kind-label": "kind", "purpose-label": "purpose", "recommendation-label": "recommendation", "revote-label": "revoteOf",
    "rule-label": "rule", "seconds-label": "seconds", "open-vote": "openVote",
    "close-vote": "closeVote", "cancel-label": "cancelReason", "cancel-vote": "cancelVote",
    "speakers-title": "speakers", "finish-speech": "finishSpeech", "grant-seconds-label": "grantSeconds",
    "conflicts-title": "conflicts", "devices-title": "devices", "witnesses-title": "witnesses",
    "witnesses-refresh": "witnessesRefresh", "storage-title": "storage", "storage-what": "keptWhat",
    "storage-count": "keptHowMany", "storage-size": "keptSize", "storage-oldest": "keptOldest",
    "storage-until": "keptUntil", "storage-refresh": "keptRefresh", "committees-title": "committees", "committee-new-title": "committeeNew",
    "committee-name-label": "committeeName", "committee-id-label": "committeeId",
    "committee-composition-label": "committeeComposition", "committee-members-legend": "committeeMembers",
    "committee-chair-label": "committeeChair", "committee-deputy-chair-label": "committeeDeputyChair",
    "committee-secretary-label": "committeeSecretary", "committee-send": "committeeSend", "deputy-label": "deputy", "make-link": "makeLink",
    "enrolled-title": "enrolledDevices", "signed-off": "signedOff", "unlock-title": "unlockTitle",
    "unlock-hint": "unlockHint", "unlock-label": "unlockLabel", "unlock-send": "unlock", "item-number-label": "itemNumber",
    "item-title-label": "itemTitle", "item-draft-label": "itemDraft", "item-position-label": "itemPosition",
    "item-save": "save", "item-cancel": "cancelEdit", "propose-title": "proposeTitle",
    "propose-number-label": "itemNumber", "propose-title-label": "itemTitle", "propose-draft-label": "itemDraft",
    "propose-rule-label": "rule", "propose-seconds-label": "seconds", "propose-send": "proposeSend",
    "documents-title": "documents", "override-label": "overrideLabel", "override-send": "overrideSend",
    "register-title": "registerDraft", "doc-number-label": "docNumber", "doc-id-label": "docId",
    "doc-title-label": "docTitle", "doc-initiator-label": "docInitiator", "doc-rapporteur-label": "docRapporteur",
    "doc-file-label": "docFile", "doc-text-label": "docText", "register-send": "register",
    "amendment-title": "amendmentTitle", "am-draft-label": "amDraft", "am-author-label": "amAuthor",
    "am-committee-label": "amCommitteeName",
    "am-reason-label": "amReason", "am-send": "amSend", "amendments-legend": "amendmentsLegend", "sittings-title": "sittings",
    "schedule-title": "scheduleTitle", "s-number-label": "sNumber", "s-convocation-label": "sConvocation",
    "s-date-label": "sDate", "s-body-label": "sBody", "s-title-label": "sTitle", "s-agenda-label": "sAgenda", "s-add-row": "sAddRow",
    "s-send": "sSend", "members-title": "members", "members-hint": "membersHint", "sign-link": "signPage",
    "secret-label": "secretLabel", "question-label": "questionLabel", "commission-title": "commissionTitle",
    "commission-new-title": "commissionNew", "commission-members-legend": "commissionMembers",
    "commission-threshold-label": "commissionThreshold", "commission-send": "commissionSend",
  };
  for (const [id, key] of Object.entries(texts)) $(id).textContent = t(key);
  $("link-qr").alt = t("qrAlt");
  if (!$("vote-form").subject.value) $("vote-form").subject.placeholder = t("subjectDefault");
  renderKind();
  for (const row of $("s-rows").children) labelRow(row);
  renderConnection(view.client?.status ?? "connecting");
  renderCouncil();
  renderSittings();
  view.documents?.render();
  view.storage?.render();
  render();
}

// The kinds of vote the console offers ("" opens one without a kind, as before kinds existed) and the
// procedural questions (agenda_add has a form of its own).
const KINDS = ["", "basis", "amendment", "whole", "basis_and_whole", "procedural"];
const PURPOSES = ["end_debate", "break", "revote", "other"];

/** The vote form follows its kind: the council's threshold for it, a procedural vote's question, and for a
 * re-vote the item's last closed vote on its draft. */
/**
 * The kinds of vote and thresholds this sitting offers: the plenary's, or a committee's — its conclusion
 * (with what it recommends) and procedural votes, each by a majority of the committee's composition (art. 47).
 */
function renderKindOptions() {
  const committee = Boolean(view.state?.committee);
  const kinds = committee ? ["conclusion", "procedural"] : KINDS;
  const kind = $("kind").value;
  const recommendation = $("recommendation").value;
  const mode = `${committee}/${view.lang}`; // the options change with the sitting's kind and the language
  if ($("kind").dataset.for !== mode) {
    $("kind").replaceChildren(...kinds.map((k) => new Option(t(`kind_${k}`), k)));
    $("recommendation").replaceChildren(
      ...["support", "reject", "rework"].map((r) => new Option(t(`recommendation_${r}`), r)),
    );
    if (committee) $("rule").replaceChildren(new Option(t("rule_committee"), "majority_of_composition"));
    $("kind").dataset.for = mode;
  }
  if (kinds.includes(kind)) $("kind").value = kind;
  if (recommendation) $("recommendation").value = recommendation;
}

function renderKind() {
  const kind = $("kind").value;
  $("recommendation-row").hidden = kind !== "conclusion";
  $("purpose-row").hidden = kind !== "procedural";
  const revote = kind === "procedural" && $("purpose").value === "revote";
  $("revote-row").hidden = !revote;
  const item = view.state?.current_item;
  const last = (view.state?.votes ?? [])
    .filter((v) => v.item === item && v.status === "closed" && ["basis", "whole", "basis_and_whole"].includes(v.kind))
    .at(-1);
  const named = (vote) => {
    const words = t(`kind_${vote.kind}`);
    return vote.subject === words ? `«${words}»` : `«${vote.subject}» (${words})`;
  };
  $("revote").replaceChildren(last ? new Option(named(last), last.id) : new Option(t("revoteNone"), ""));
  $("vote-form").subject.placeholder =
    kind === "procedural" ? t(`purpose_${$("purpose").value}`) : kind ? t(`kind_${kind}`) : t("subjectDefault");
  renderAmendmentChoices(kind);
}

/** An amendment vote's wording when the chair types none: «Поправка 1», «Поправки 1 і 3». */
function amendmentSubject(ids) {
  const numbers = ids.map(amendmentNumber);
  const listed = numbers.length > 1 ? `${numbers.slice(0, -1).join(", ")} ${t("and")} ${numbers.at(-1)}` : numbers[0];
  return t(numbers.length > 1 ? "subjectAmendments" : "subjectAmendment", { numbers: listed });
}

/** The current item's draft (text and amendments), read when the item changes and after each vote. */
async function loadDraft() {
  const item = view.state?.agenda.find((i) => i.id === view.state.current_item);
  view.draftFor = item?.draft ?? null;
  if (!item?.draft) {
    view.draft = null;
    return;
  }
  const { documents } = await (await fetch("/api/v1/documents")).json();
  const id = documents.find((d) => d.number === item.draft)?.id;
  view.draft = id ? await (await fetch(`/api/v1/documents/${encodeURIComponent(id)}`)).json() : null;
}

/** An amendment vote's choices — or those a committee's conclusion may propose to the plenary: the item's
 * draft's amendments not yet voted on nor withdrawn, each with the numbers of those it conflicts with; and
 * every amendment with its changes, to read before the vote. */
function renderAmendmentChoices(kind) {
  const asked = kind === "amendment" || kind === "conclusion";
  const item = view.state?.agenda.find((i) => i.id === view.state?.current_item);
  if ((item?.draft ?? null) !== (view.draftFor ?? null)) {
    loadDraft().then(() => renderKind(), () => {});
    return;
  }
  const draft = view.draft;
  const votes = view.state?.votes ?? [];
  const standing = (draft?.amendments ?? []).filter((a) => amendmentStatus(a, votes) === "proposed");
  $("amendments-row").hidden = !asked;
  $("amendments-legend").textContent = t(kind === "conclusion" ? "amendmentsProposed" : "amendmentsLegend");
  const checked = new Set([...document.querySelectorAll("#amendment-choices input:checked")].map((i) => i.value));
  $("amendment-choices").replaceChildren(
    ...(standing.length
      ? standing.map((a) => {
          const label = document.createElement("label");
          const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "amendment", value: a.id });
          box.checked = checked.has(a.id);
          const rivals = a.conflicts_with.length ? t("amendmentConflict", { numbers: a.conflicts_with.join(", ") }) : "";
          label.append(box, " ", t("amendmentChoice", { number: a.number, reason: a.reason }) + rivals);
          return label;
        })
      : [Object.assign(document.createElement("p"), { textContent: t("amendmentsNone") })]),
  );
  // the committees' conclusions on the draft, beside the item at the plenary
  const block = draft && !view.state?.committee ? conclusionsBlock(view.lang, draft, view.council) : [];
  $("conclusions").hidden = !block.length;
  $("conclusions").replaceChildren(...block);
  $("draft-amendments").hidden = !draft?.amendments?.length;
  if (draft?.amendments?.length) {
    $("draft-amendments-title").textContent = t("draftAmendments", { draft: draft.number });
    $("draft-amendment-list").replaceChildren(...amendmentArticles({ lang: view.lang, draft, votes, deputyName: name, committeeName: (id) => committeeName(view.council, id) }));
  }
}

function renderConnection(status) {
  showConnection($("connection"), status, view);
}

// ---- the council: rules, members, devices --------------------------------------------------------

function renderCouncil() {
  const council = view.council;
  if (!council) return;
  $("council").textContent = council.name;
  $("signed-off").hidden = council.signed_ballots;
  const rules = council.rules.map((rule) => new Option(t(`rule_${rule}`), rule));
  const chosen = $("rule").value;
  $("rule").replaceChildren(...rules);
  if (chosen) $("rule").value = chosen;
  $("kind").dataset.for = ""; // the rules were set anew above: a committee's sitting narrows them again
  renderKindOptions();
  const purpose = $("purpose").value;
  $("purpose").replaceChildren(...PURPOSES.map((p) => new Option(t(`purpose_${p}`), p)));
  if (purpose) $("purpose").value = purpose;
  const procedural = council.procedural_rule ? [council.procedural_rule] : council.rules;
  // the council's threshold for procedural votes first (the law's default: a majority of those registered)
  const preferred = council.procedural_rule ?? council.vote_rules?.procedural ?? procedural[0];
  const rulesFirst = [...procedural].sort((a, b) => (b === preferred) - (a === preferred));
  $("propose-rule").replaceChildren(...rulesFirst.map((rule) => new Option(t(`rule_${rule}`), rule)));
  $("propose-hint").textContent = t("proposeHint", { rule: t(`rule_${rulesFirst[0]}`) });
  const picked = $("deputy").value;
  $("deputy").replaceChildren(...council.deputies.map((d) => new Option(d.name, d.id)));
  if (picked) $("deputy").value = picked;
  renderMembers(council);
  renderCommittees(council);
  const body = $("s-body").value;
  $("s-body").replaceChildren(
    new Option(t("sBodyCouncil"), ""),
    ...(council.committees ?? []).map((c) => new Option(c.name, c.id)),
  );
  $("s-body").value = body;
  renderDevices(council);
  view.documents?.render(); // the amendment form's authors are the council's members
}

function renderMembers(council) {
  const missing = council.deputies.filter((d) => !d.gender).length;
  $("gender-missing").textContent = missing ? t("genderMissing", { count: missing }) : "";
  $("members").replaceChildren(
    ...council.deputies.map((d) => {
      const li = document.createElement("li");
      li.dataset.member = d.id;
      const label = document.createElement("label");
      const who = document.createElement("span");
      who.textContent = `${d.name} · ${d.mayor ? t("mayorTag") : (d.faction ?? t("noFaction"))}`;
      const select = document.createElement("select");
      select.name = "gender";
      select.setAttribute("aria-label", `${t("gender")}: ${d.name}`);
      // A recorded gender is corrected, never erased: «не вказано» is offered only while none is recorded.
      if (!d.gender) select.append(Object.assign(new Option(t("gender_none"), ""), { disabled: true }));
      select.append(new Option(t("gender_female"), "female"), new Option(t("gender_male"), "male"));
      select.value = d.gender ?? "";
      select.dataset.panel = "members-panel";
      select.addEventListener("change", () => setGender(d.id, select.value, select));
      label.append(who, " ", select);
      li.append(label);
      return li;
    }),
  );
}

/** The council's standing committees, and the form the secretary forms one with (members: deputies, not the mayor). */
function renderCommittees(council) {
  const committees = council.committees ?? [];
  $("committee-list").replaceChildren(
    ...(committees.length
      ? committees.map((c) =>
          Object.assign(document.createElement("li"), {
            textContent: t("committeeLine", { name: c.name, count: c.members.length, composition: c.composition, chair: name(c.chair) }),
          }),
        )
      : [Object.assign(document.createElement("li"), { textContent: t("committeesNone"), className: "empty" })]),
  );
  const deputies = council.deputies.filter((d) => !d.mayor);
  const checked = new Set([...document.querySelectorAll("#committee-members input:checked")].map((i) => i.value));
  $("committee-members").replaceChildren(
    ...deputies.map((d) => {
      const label = document.createElement("label");
      const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "members", value: d.id });
      box.checked = checked.has(d.id);
      box.addEventListener("change", renderOfficers);
      label.append(box, ` ${d.name}`);
      return label;
    }),
  );
  renderOfficers();
}

/** The officers are chosen among the members ticked. */
function renderOfficers() {
  const members = [...document.querySelectorAll("#committee-members input:checked")].map((i) => i.value);
  for (const [id, optional] of [["committee-chair", false], ["committee-deputy-chair", true], ["committee-secretary", true]]) {
    const chosen = $(id).value;
    $(id).replaceChildren(
      ...(optional ? [new Option(t("committeeVacant"), "")] : []),
      ...members.map((m) => new Option(name(m), m)),
    );
    if (members.includes(chosen)) $(id).value = chosen;
  }
}

async function formCommittee(form) {
  const data = new FormData(form);
  const body = {
    id: crypto.randomUUID(),
    type: "committee.create",
    committee: String(data.get("committee")),
    name: String(data.get("name")),
    composition: Number(data.get("composition")),
    members: data.getAll("members").map(String),
    chair: String(data.get("chair")),
  };
  for (const office of ["deputy_chair", "secretary"]) if (data.get(office)) body[office] = String(data.get(office));
  try {
    await api("/council/commands", { method: "POST", body: JSON.stringify(body) });
    form.reset();
    await reloadCouncil();
    reportBeside($("committees-panel"), t("done"), "done");
  } catch (error) {
    report(form.querySelector("button"), error);
  }
}

async function setGender(member, gender, control) {
  const recorded = view.council.deputies.find((d) => d.id === member)?.gender ?? "";
  if (!gender || gender === recorded) return;
  try {
    const body = { id: crypto.randomUUID(), type: "deputy.update", deputy: member, gender };
    await api("/council/commands", { method: "POST", body: JSON.stringify(body) });
    await reloadCouncil();
    reportBeside($("members-panel"), t("done"), "done");
  } catch (error) {
    control.value = recorded; // the select shows what is recorded, not what was refused
    report(control, error);
  }
}

function renderDevices(council) {
  const devices = council.credentials;
  $("devices").replaceChildren(
    ...(devices.length ? devices : [null]).map((device) => {
      const li = document.createElement("li");
      if (!device) {
        li.textContent = t("noDevices");
        li.className = "empty";
        return li;
      }
      li.append(`${name(device.deputy)} · ${device.id.slice(0, 10)}… `);
      if (device.revoked) li.append(`(${t("revoked")})`);
      else {
        li.append(rowButton(t("revoke"), (b) => revoke(device.id, b), false, "devices-panel"));
      }
      return li;
    }),
  );
}

/** The witnesses' health (`GET /api/v1/witnesses`): who cosigned how much, who fails since when, what waits. */
async function renderWitnesses() {
  let health;
  try {
    health = await api("/witnesses");
  } catch (error) {
    report($("witnesses-refresh"), error);
    return;
  }
  reportBeside($("witnesses-refresh"), ""); // a refusal shown before no longer stands
  const when = (at) =>
    new Date(at).toLocaleTimeString(view.lang === "uk" ? "uk-UA" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  const ledger = (stream) => (stream.startsWith("council:") ? t("councilLedger") : stream.replace(/^session:/, ""));
  $("witnesses-needed").textContent = health.witnesses.length
    ? t("witnessesNeeded", { needed: health.needed, total: health.witnesses.length })
    : t("witnessesNone");
  $("witness-health").replaceChildren(
    ...health.witnesses.map((w) => {
      const li = document.createElement("li");
      li.dataset.witness = w.name;
      const line = document.createElement("p");
      line.textContent =
        t("witnessLine", { name: w.name, url: w.url, count: w.cosigned }) +
        (w.answered_at ? t("witnessLast", { when: when(w.answered_at) }) : "");
      li.append(line);
      if (w.failed_at && (!w.answered_at || w.failed_at > w.answered_at)) {
        const down = document.createElement("p");
        down.className = "bad";
        down.textContent = t("witnessDown", { when: when(w.failed_at), failure: w.failure });
        li.append(down);
      }
      const behind = document.createElement("p");
      behind.textContent = w.behind.length
        ? t("witnessBehind", {
            ledgers: w.behind.map((b) => t("witnessLedger", { name: ledger(b.stream), held: b.held ?? 0, size: b.size })).join("; "),
          })
        : t("witnessCurrent");
      li.append(behind);
      return li;
    }),
  );
}

async function reloadCouncil() {
  view.council = await (await fetch("/api/v1/council")).json();
  renderCouncil();
}

async function makeLink(deputy, control) {
  try {
    const link = await api("/enrollments", { method: "POST", body: JSON.stringify({ deputy }) });
    const url = `${location.origin}${link.url}`;
    const qr = qrcode(0, "M");
    qr.addData(url);
    qr.make();
    $("link-qr").src = qr.createDataURL(6, 2);
    $("link-url").href = url;
    $("link-url").textContent = url;
    const until = new Date(link.expires_at);
    const time = until.toLocaleTimeString(view.lang === "uk" ? "uk-UA" : "en-GB", { hour: "2-digit", minute: "2-digit" });
    const expires = `${longDate(view.lang, until.toLocaleDateString("sv-SE"))}, ${time}`;
    $("link-text").textContent = t("linkReady", { name: name(deputy), expires });
    $("link").hidden = false;
    reportBeside(control, "");
  } catch (error) {
    report(control, error);
  }
}

/** Let an account that failed to sign in several times try again at once (its wait is lifted). */
async function unlock(form) {
  const username = form.username.value.trim();
  try {
    await api(`/users/${encodeURIComponent(username)}/unlock`, { method: "POST" });
    markField(form, null, reportBeside(form, t("unlocked", { name: username }), "done"));
    form.reset();
  } catch (error) {
    report(form.querySelector("button"), error.error === "unknown_user" ? Object.assign(error, { field: "username" }) : error);
  }
}

async function revoke(credential, control) {
  try {
    const body = { id: `revoke-${credential.slice(0, 40)}`, type: "credential.revoke", credential, reason: t("revokeReason") };
    await api("/council/commands", { method: "POST", body: JSON.stringify(body) });
    await reloadCouncil();
  } catch (error) {
    report(control, error);
  }
}

// ---- sittings: choose one, schedule one ------------------------------------------------------------

async function reloadSittings() {
  const { sessions } = await (await fetch("/api/v1/sessions")).json();
  const chaired = STAFF.has(auth.me?.role) ? null : chairedCommittees();
  view.sittings = chaired ? sessions.filter((x) => chaired.includes(x.committee)) : sessions;
  renderSittings();
}

function renderSittings() {
  const option = (x) =>
    new Option(t("sittingOption", { title: x.title, date: longDate(view.lang, x.date), status: t(`status_${x.status}`) }), x.id);
  $("sitting").replaceChildren(...view.sittings.map(option));
  if (view.sessionId) $("sitting").value = view.sessionId;
  $("picker").hidden = view.sittings.length < 2;
  $("sittings").replaceChildren(
    ...view.sittings.map((x) => {
      const li = document.createElement("li");
      const link = Object.assign(document.createElement("a"), { href: `/console?session=${encodeURIComponent(x.id)}` });
      link.textContent = option(x).text;
      li.append(link);
      return li;
    }),
  );
}

function labelRow(row) {
  const [number, title, draft, remove] = row.querySelectorAll("input, button");
  number.setAttribute("aria-label", t("sItemNumber"));
  number.placeholder = t("sItemNumber");
  title.setAttribute("aria-label", t("sItemTitle"));
  title.placeholder = t("sItemTitle");
  draft.setAttribute("aria-label", t("sItemDraft"));
  draft.placeholder = t("sItemDraft");
  remove.textContent = t("sRemoveRow");
}

function addAgendaRow() {
  const row = document.createElement("div");
  row.className = "row agenda-row";
  const input = (field, size, required) => {
    const element = Object.assign(document.createElement("input"), { name: `item-${field}`, maxLength: size, required });
    element.className = field;
    return element;
  };
  const remove = Object.assign(document.createElement("button"), { type: "button" });
  remove.addEventListener("click", () => row.remove());
  row.append(input("number", 20, true), input("title", 1000, true), input("draft", 100, false), remove);
  labelRow(row);
  $("s-rows").append(row);
  const next = $("s-rows").children.length;
  row.querySelector(".number").value = String(next);
  return row;
}

async function scheduleSitting(form) {
  const data = new FormData(form);
  const agenda = [...$("s-rows").children].map((row, index) => {
    const inputs = [...row.querySelectorAll("input")];
    for (const input of inputs) input.dataset.field = `agenda.${index}.${input.className}`; // a refusal names it
    const [number, title, draft] = inputs.map((i) => i.value.trim());
    return { number, title, draft: draft || null };
  });
  const body = {
    id: crypto.randomUUID(),
    number: Number(data.get("number")),
    convocation: Number(data.get("convocation")),
    date: String(data.get("date")),
    title: String(data.get("title")),
    agenda,
  };
  if (data.get("committee")) body.committee = String(data.get("committee")); // a standing committee's sitting
  try {
    const created = await api("/sessions", { method: "POST", body: JSON.stringify(body) });
    form.reset();
    $("s-rows").replaceChildren();
    addAgendaRow();
    await reloadSittings();
    reportBeside(form, t("scheduled", { title: body.title.trim(), date: longDate(view.lang, body.date) }), "done");
    if (!view.sessionId) location.assign(`/console?session=${encodeURIComponent(created.session)}`);
  } catch (error) {
    report(form, error);
  }
}

// ---- the sitting -----------------------------------------------------------------------------------

function render() {
  const state = view.state;
  if (!state || !view.council) return;
  $("session-title").textContent = state.title;
  renderKindOptions();
  renderKind();
  $("session-status").textContent = t(`session_${state.status}`);
  $("broadcast-status").textContent = t(`broadcast_${state.broadcast?.status ?? "off"}`);
  $("broadcast-link").textContent = t("broadcastPage");
  $("broadcast-link").href = `/broadcast?session=${encodeURIComponent(state.id)}`;
  $("open-session").disabled = state.status !== "scheduled";
  $("close-session").disabled = state.status !== "open" || Boolean(openVote(state));
  $("registration-status").textContent = t(
    state.registration_open ? "registrationOpen" : state.registered.length ? "registrationClosed" : "registrationNotYet",
  );
  $("open-registration").disabled = state.status !== "open" || state.registration_open;
  $("close-registration").disabled = !state.registration_open;
  $("quorum-verdict").hidden = state.status !== "open";
  $("quorum-verdict").textContent = t(state.quorum ? "quorumYes" : "quorumNo");
  $("quorum-verdict").dataset.quorum = state.quorum ? "yes" : "no";
  $("quorum").textContent = registrationLine(view.lang, state.composition);
  $("composition").textContent = compositionLine(view.lang, state.composition);
  $("registered-title").textContent = t("registeredList", { count: state.registered.length });
  $("registered").replaceChildren(...state.registered.map((m) => Object.assign(document.createElement("li"), { textContent: name(m) })));
  renderNext(state);
  renderAgenda(state);
  renderVote(state);
  renderSpeakers(state);
  const conflicts = state.conflicts.map((c) => {
    const item = state.agenda.find((i) => i.id === c.item);
    return Object.assign(document.createElement("li"), {
      textContent: t("conflictLine", { name: name(c.deputy), number: item?.number ?? c.item, reason: c.reason }),
    });
  });
  $("conflicts").replaceChildren(...(conflicts.length ? conflicts : [Object.assign(document.createElement("li"), { textContent: t("noConflicts"), className: "empty" })]));
}

/** What the chair does next, with the buttons for it: the console's first panel. */
function renderNext(state) {
  const actions = [];
  const button = (key, onClick, primary = true) => {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: t(key) });
    if (primary) b.className = "primary";
    b.dataset.action = key;
    b.dataset.panel = "next-panel";
    b.addEventListener("click", (event) => onClick(event.currentTarget));
    actions.push(b);
  };
  const open = openVote(state);
  const current = state.agenda.find((i) => i.id === state.current_item);
  const pending = state.agenda.find((i) => i.status === "pending");
  // a committee's sitting gathers, registers and waits for its members, not the council's deputies
  const who = (key) => (state.committee ? `${key}_committee` : key);
  let text;
  if (state.status === "scheduled") {
    text = t(who("next_open"));
    button("openSession", openSession);
  } else if (state.status === "closed") {
    text = t("next_closed");
    const link = Object.assign(document.createElement("a"), { href: `/sessions/${encodeURIComponent(state.id)}/minutes`, textContent: t("minutesLink") });
    actions.push(link);
  } else if (open?.product) {
    // a secret vote closed to ballots: the counting commission's members decrypt on their tablets
    text = t("next_tallying", { subject: open.subject, done: open.decrypted_by.length, needed: state.commission?.threshold ?? 0 });
  } else if (open) {
    text = t("next_voting", { subject: open.subject, seconds: secondsUntil(open.closes_at) });
    button("closeVote", closeVote);
  } else if (state.registration_open) {
    text = state.quorum ? t("next_registering") : t(who("next_no_quorum"));
    button("closeRegistration", closeRegistration);
  } else if (!state.quorum) {
    text = t(who(state.registered.length ? "next_no_quorum_closed" : "next_registration"));
    button("openRegistration", (b) => command({ type: "registration.open" }, b));
  } else if (current?.draft && draftStep(state, current)) {
    const step = draftStep(state, current);
    text = t(`next_draft_${step.stage}`, { ...current, draft: current.draft, count: step.standing });
    for (const kind of step.kinds) button(`prepare_${kind}`, () => prepareVote(kind), kind === step.kinds[0]);
    button("finishItem", (b) => finishItem(current, b), ["decided", "concluded"].includes(step.stage));
  } else if (current) {
    text = t("next_vote", current);
    button("openVote", () => $("vote-form").requestSubmit());
    button("finishItem", (b) => finishItem(current, b), false);
  } else if (pending) {
    text = t("next_item", pending);
    button("startItem", (b) => command({ type: "item.start", item: pending.id }, b));
  } else {
    text = t("next_close");
    button("closeSession", closeSession);
  }
  const queue = state.speakers.queue.map((m) => name(m));
  if (queue.length && state.status === "open") text += ` ${t("next_queue", { names: queue.join(", ") })}`;
  if ($("next-text").textContent !== text) $("next-text").textContent = text;
  const signature = actions.map((a) => a.dataset.action ?? a.href).join();
  if ($("next-actions").dataset.signature !== signature) {
    $("next-actions").dataset.signature = signature;
    $("next-actions").replaceChildren(...actions);
  }
}

/**
 * Where the current item's draft stands in its consideration, as the server decides it
 * (`session_server.domain.votes.Consideration`): «за основу» → amendments → «в цілому», or «за основу
 * та в цілому»; the kinds of vote it offers next, and how many amendments are still to be voted. Null
 * for an item voted without kinds (the chair then picks as before).
 */
function draftStep(state, item) {
  const votes = state.votes.filter((v) => v.item === item.id && v.status === "closed" && v.tally);
  if (votes.some((v) => !v.kind)) return null;
  let basis = null;
  let decided = null;
  let revote = null;
  for (const vote of votes) {
    if (vote.purpose === "revote") {
      if (vote.tally.outcome === "adopted") revote = votes.find((v) => v.id === vote.revote) ?? null;
      continue;
    }
    if (revote && vote.kind === revote.kind) revote = null;
    if (vote.kind === "basis") basis = vote;
    else if (vote.kind === "whole" || vote.kind === "basis_and_whole") decided = vote;
  }
  const standing = (view.draft?.number === item.draft ? view.draft.amendments : [])
    .filter((a) => amendmentStatus(a, state.votes) === "proposed").length;
  if (state.committee) {
    // a committee concludes on the draft: until a conclusion is adopted (another may follow one that was not)
    const adopted = votes.some((v) => v.kind === "conclusion" && v.tally.outcome === "adopted");
    return adopted ? { stage: "concluded", kinds: [], standing } : { stage: "conclusion", kinds: ["conclusion"], standing };
  }
  if (revote) return { stage: "revote", kinds: [revote.kind], standing };
  if (decided || (basis && basis.tally.outcome !== "adopted")) return { stage: "decided", kinds: [], standing };
  if (!basis) return { stage: "basis", kinds: ["basis", "basis_and_whole"], standing };
  return standing
    ? { stage: "amendments", kinds: ["amendment", "whole"], standing }
    : { stage: "whole", kinds: ["whole"], standing };
}

/** Set the vote form to `kind` (its threshold with it) and bring it into view. */
function prepareVote(kind) {
  $("kind").value = kind;
  $("kind").dispatchEvent(new Event("change"));
  $("vote-panel").scrollIntoView({ block: "nearest" });
  $("kind").focus();
}

/** A small button for a list row, reporting in `panel` (the row may be re-rendered meanwhile). */
function rowButton(text, onClick, disabled = false, panel = "agenda-panel") {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.disabled = disabled;
  button.dataset.panel = panel;
  button.addEventListener("click", (event) => onClick(event.currentTarget));
  return button;
}

function renderAgendaForm(state) {
  const editing = editor() && state.status === "scheduled";
  $("item-form").hidden = !editing;
  $("propose").hidden = state.status !== "open";
  $("propose-send").disabled = Boolean(openVote(state)) || !state.quorum;
  const target = state.agenda.find((i) => i.id === view.editing);
  if (!target) view.editing = null;
  $("item-form-title").textContent = target ? t("editItem", { number: target.number }) : t("addItem");
  $("item-cancel").hidden = !target;
  $("item-form").position.closest("label").hidden = Boolean(target);
}

function editItem(item) {
  view.editing = item.id;
  const form = $("item-form");
  form.number.value = item.number;
  form.title.value = item.title;
  form.draft.value = item.draft ?? "";
  render();
  form.title.focus();
}

async function saveItem(form) {
  const data = new FormData(form);
  const fields = { number: String(data.get("number")), title: String(data.get("title")) };
  const draft = String(data.get("draft") ?? "").trim();
  let sent;
  if (view.editing) {
    sent = await command({ type: "item.update", item: view.editing, ...fields, draft: draft || null }, form);
  } else {
    const position = Number(data.get("position")) || undefined;
    sent = await command({ type: "item.add", ...fields, draft: draft || null, ...(position ? { position } : {}) }, form);
  }
  if (sent) {
    view.editing = null;
    form.reset();
    render();
  }
}

function renderAgenda(state) {
  const busy = Boolean(openVote(state));
  renderAgendaForm(state);
  $("agenda").replaceChildren(
    ...state.agenda.map((item) => {
      const li = document.createElement("li");
      li.dataset.status = item.status;
      li.dataset.item = item.id;
      li.append(t("itemLine", item));
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [t(`item_${item.status}`), item.draft ? t("draft", { draft: item.draft }) : ""].filter(Boolean).join(" · ");
      li.append(meta);
      if (editor() && state.status === "scheduled") {
        li.append(rowButton(t("change"), () => editItem(item)), " ", rowButton(t("remove"), (b) => command({ type: "item.remove", item: item.id }, b)));
      } else if (item.status === "pending" && state.status === "open") {
        li.append(rowButton(t("startItem"), (b) => command({ type: "item.start", item: item.id }, b), state.current_item !== null));
      } else if (item.status === "in_progress") {
        li.append(rowButton(t("finishItem"), (b) => finishItem(item, b), busy));
      }
      return li;
    }),
  );
}

function renderVote(state) {
  const open = openVote(state);
  $("vote-form").hidden = Boolean(open) || state.status !== "open";
  renderAmendmentChoices($("kind").value);
  renderSecret(state);
  $("open-vote").disabled = !state.current_item || state.status !== "open";
  $("vote-hint").textContent = state.current_item || state.status !== "open" ? "" : t("needItem");
  $("vote-live").hidden = !open;
  if (open) {
    $("vote-open").textContent = open.product
      ? t("voteCounting", { subject: open.subject })
      : t("voteOpen", { subject: open.subject, seconds: secondsUntil(open.closes_at) });
    $("voted").textContent = open.product
      ? t("tallying", { voted: open.voted, done: open.decrypted_by.length, needed: state.commission?.threshold ?? 0 })
      : t("voted", { voted: open.voted, registered: state.registered.length });
    $("close-vote").hidden = Boolean(open.product); // a secret vote being counted waits for the commission
  }
  const last = open ? null : shownVote(state); // never an earlier item's result under a new item
  const result = $("vote-result");
  const key = last ? `${view.lang}:${last.id}:${last.status}` : "";
  if (result.dataset.key === key) return;
  result.dataset.key = key;
  result.replaceChildren();
  if (last?.status === "closed" && last.tally) {
    result.append(
      Object.assign(document.createElement("h3"), { textContent: t("results", { subject: last.subject }) }),
      Object.assign(document.createElement("p"), { textContent: t("tally", last.tally) }),
      Object.assign(document.createElement("p"), {
        className: "big",
        textContent: amendmentOutcome(view.lang, last)
          ? `${amendmentOutcome(view.lang, last)} (${t("neededCount", last.tally)})`
          : t(`outcome_${last.tally.outcome}`, last.tally),
      }),
    );
    if (last.purpose === "agenda_add") {
      const included = last.tally.outcome === "adopted" ? "included" : "notIncluded";
      result.append(Object.assign(document.createElement("p"), { textContent: t(included, last.proposal) }));
    }
  } else if (last?.status === "cancelled") {
    result.append(Object.assign(document.createElement("p"), { textContent: t("cancelled", { subject: last.subject, reason: last.reason }) }));
  }
}

/**
 * Secret ballots (issue 20), where the council's rules list questions for them: the vote form's «Таємне
 * голосування» with its question, and the counting commission — who it is, how far its key has come, and
 * the form that records the commission the council elected.
 */
function renderSecret(state) {
  const questions = view.council?.secret_questions ?? [];
  const offered = questions.length > 0 && !state.committee;
  $("secret-row").hidden = !offered;
  $("question-row").hidden = !offered || !$("secret").checked;
  if ($("question").dataset.for !== `${view.lang}/${questions.length}`) {
    $("question").replaceChildren(...questions.map((q) => new Option(`${q.title} (${q.citation})`, q.question)));
    $("question").dataset.for = `${view.lang}/${questions.length}`;
  }
  $("commission-panel").hidden = !offered || !["chair", "secretary"].includes(auth.me?.role); // who steers the sitting
  if ($("commission-panel").hidden) return;
  const c = state.commission;
  if (!c) {
    $("commission-line").textContent = t("commissionNone");
  } else {
    const n = c.members.length;
    const done = { committing: c.committed, dealing: c.dealt, confirming: c.ready }[c.stage]?.length ?? n;
    const stage = t(`commissionStage_${c.stage}`, { done, n, against: c.failed ? name(c.failed.against) : "" });
    $("commission-line").textContent = t("commissionLine", { members: c.members.map(name).join(", "), threshold: c.threshold, stage });
  }
  $("commission-line").dataset.stage = c?.stage ?? "none";
  const present = (view.council?.deputies ?? []).filter((d) => !d.mayor && state.registered.includes(d.id));
  const checked = new Set([...document.querySelectorAll("#commission-members input:checked")].map((i) => i.value));
  const signature = present.map((d) => d.id).join();
  if ($("commission-members").dataset.for !== signature) {
    $("commission-members").replaceChildren(
      ...present.map((d) => {
        const label = document.createElement("label");
        const box = Object.assign(document.createElement("input"), { type: "checkbox", name: "member", value: d.id });
        box.checked = checked.has(d.id);
        label.append(box, ` ${d.name}`);
        return label;
      }),
    );
    $("commission-members").dataset.for = signature;
  }
}

function renderSpeakers(state) {
  const current = state.speakers.current;
  $("speaker").textContent = current ? speechLine(current) : "";
  $("finish-speech").hidden = !current;
  const queue = state.speakers.queue.map((m) => {
    const li = document.createElement("li");
    li.append(`${name(m)} `);
    const grant = (b) => command({ type: "speaker.grant", deputy: m, seconds: Number($("grant-seconds").value) }, b);
    li.append(rowButton(t("grant"), grant, Boolean(current), "speakers-panel"));
    return li;
  });
  $("queue").replaceChildren(...(queue.length ? queue : [Object.assign(document.createElement("li"), { textContent: t("queueEmpty"), className: "empty" })]));
}

function tick() {
  const state = view.state;
  if (!state) return;
  const open = openVote(state);
  if (open) {
    $("vote-open").textContent = open.product
      ? t("voteCounting", { subject: open.subject })
      : t("voteOpen", { subject: open.subject, seconds: secondsUntil(open.closes_at) });
    renderNext(state);
  }
  const current = state.speakers.current;
  if (current) $("speaker").textContent = speechLine(current);
}

function speechLine(current) {
  const seconds = secondsUntil(current.until);
  return t(seconds > 0 ? "speaking" : "speakingOver", { name: name(current.deputy), seconds });
}

// ---- the steps that ask first ----------------------------------------------------------------------

function ask(key, params, danger = true) {
  return confirmStep({
    title: t(`${key}Title`, params),
    text: t(params.textKey ?? key, params),
    confirm: t(`${key}Yes`),
    cancel: t("confirmCancel"),
    danger,
  });
}

async function closeSession(control) {
  const state = view.state;
  const current = state.agenda.find((i) => i.id === state.current_item);
  const textKey = current ? "confirmCloseSessionItem" : "confirmCloseSession";
  if (!(await ask("confirmCloseSession", { textKey, number: current?.number }))) return;
  if (current && !(await command({ type: "item.finish", item: current.id }, control))) return;
  await command({ type: "session.close" }, control);
}

async function openSession(control) {
  const state = view.state;
  const params = { title: state.title, date: longDate(view.lang, state.date) };
  if (await ask("confirmOpenSession", params, false)) await command({ type: "session.open" }, control);
}

/** Closing a vote before its time asks first: the deputies who have not voted yet lose their chance. */
async function closeVote(control) {
  const open = openVote(view.state);
  if (!open) return;
  const seconds = secondsUntil(open.closes_at);
  const params = { seconds, voted: open.voted, registered: view.state.registered.length };
  if (seconds > 0 && !(await ask("confirmCloseVote", params))) return;
  await command({ type: "vote.close", vote: open.id }, control);
}

async function closeRegistration(control) {
  const state = view.state;
  // those who may register: the council's deputies, or at a committee's sitting its members (`bodyOf`)
  const body = bodyOf(view.council, state.committee);
  const missing = body.deputies.filter((d) => !state.registered.includes(d.id) && !d.mayor).length;
  const textKey = state.committee ? "confirmCloseRegistrationCommittee" : "confirmCloseRegistration";
  if (await ask("confirmCloseRegistration", { missing, textKey }, false)) await command({ type: "registration.close" }, control);
}

async function finishItem(item, control) {
  const voted = view.state.votes.some((v) => v.item === item.id && v.status === "closed");
  const textKey = voted ? "confirmFinishItem" : "confirmFinishItemNoVote";
  if (await ask("confirmFinishItem", { textKey, number: item.number, title: item.title }, false)) {
    await command({ type: "item.finish", item: item.id }, control);
  }
}

async function cancelVote(form) {
  const open = openVote(view.state);
  const reason = String(new FormData(form).get("reason"));
  if (!open || !(await ask("confirmCancelVote", { subject: open.subject, reason }))) return;
  if (await command({ type: "vote.cancel", vote: open.id, reason }, form)) form.reset();
}

async function propose(form) {
  const data = new FormData(form);
  const proposal = { number: String(data.get("number")), title: String(data.get("title")) };
  const draft = String(data.get("draft") ?? "").trim();
  const body = {
    type: "vote.open",
    purpose: "agenda_add",
    proposal: { ...proposal, draft: draft || null },
    subject: t("proposeSubject", proposal).slice(0, 200),
    rule: String(data.get("rule")),
    seconds: Number(data.get("seconds")),
  };
  if (await command(body, form)) form.reset();
}

// ---- start -------------------------------------------------------------------------------------

/** The committees whose sittings this account steers as their chair or deputy chair (a deputy's console). */
function chairedCommittees() {
  const member = auth.me?.member;
  return (view.council?.committees ?? []).filter((c) => member && [c.chair, c.deputy_chair].includes(member)).map((c) => c.id);
}

async function enterDesk() {
  view.council = await (await fetch("/api/v1/council")).json();
  const committeeChair = auth.me.role === "deputy" && chairedCommittees().length > 0;
  if (!STAFF.has(auth.me.role) && !committeeChair) {
    $("sign-in").hidden = false;
    $("sign-in-status").textContent = t("notStaff");
    return;
  }
  $("sign-in").hidden = true;
  $("sign-out").hidden = false;
  const office = ["secretary", "admin"].includes(auth.me.role);
  $("office").hidden = !office;
  $("sign-line").hidden = auth.me.role !== "chair"; // the mayor, who chairs, signs the adopted decisions
  if (office) {
    view.documents = documentsPanel({
      api,
      t,
      report,
      view,
      onAmended: () => loadDraft().then(() => view.state && renderVote(view.state), () => {}),
    });
    await view.documents.reload();
    if (!$("s-rows").children.length) addAgendaRow();
    await renderWitnesses();
  }
  $("storage-panel").hidden = auth.me.role !== "admin"; // what is kept: the administrator's
  if (auth.me.role === "admin") {
    view.storage ??= storagePanel({ api, t, report, view });
    await view.storage.reload();
  }
  await reloadCouncil();
  $("who").textContent = auth.me.member ? name(auth.me.member) : auth.me.username;
  await reloadSittings();
  // a committee's chair steers the sittings of the committee: those are the ones offered
  view.sessionId = committeeChair
    ? (new URLSearchParams(location.search).get("session") ?? chooseSitting(view.sittings))
    : await pickSession();
  renderSittings();
  if (!view.sessionId) {
    $("no-sittings").hidden = false;
    $("no-sittings").textContent = t("noSittings");
    return;
  }
  $("desk").hidden = false;
  $("next-panel").hidden = false;
  followSession(view, auth, {
    render,
    renderConnection,
    onEvent: async (event) => {
      if (event.type === "session.opened" || event.type === "session.closed") await reloadSittings();
      // a vote's outcome moves drafts on (adopted, rejected): the secretary's list follows it
      if (["vote.closed", "item.finished", "item.added"].includes(event.type)) view.documents?.reloadSoon();
      // the item's draft and its amendments (one may be entered during the debate)
      if (["item.started", "vote.opened", "vote.closed"].includes(event.type)) await loadDraft().catch(() => {});
      // a result is a checkpoint the witnesses are asked to cosign at once: their answers a moment later
      if (office && ["vote.closed", "session.closed"].includes(event.type)) setTimeout(renderWitnesses, 1500);
    },
  });
}

function wire() {
  wireSignIn({ view, auth, renderTexts, onSignedIn: enterDesk });
  $("sitting").addEventListener("change", () => location.assign(`/console?session=${encodeURIComponent($("sitting").value)}`));
  $("open-session").addEventListener("click", (event) => openSession(event.currentTarget));
  $("witnesses-refresh").addEventListener("click", renderWitnesses);
  $("committee-form").addEventListener("submit", (event) => {
    event.preventDefault();
    formCommittee(event.target);
  });
  $("close-session").addEventListener("click", (event) => closeSession(event.currentTarget));
  $("open-registration").addEventListener("click", (event) => command({ type: "registration.open" }, event.currentTarget));
  $("close-registration").addEventListener("click", (event) => closeRegistration(event.currentTarget));
  $("vote-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const kind = String(form.get("kind") || "");
    const purpose = kind === "procedural" ? String(form.get("purpose")) : "";
    const words = kind === "procedural" ? t(`purpose_${purpose}`) : kind ? t(`kind_${kind}`) : t("subjectDefault");
    const subject = String(form.get("subject") || words);
    const body = { type: "vote.open", item: view.state.current_item, subject, rule: form.get("rule"), seconds: Number(form.get("seconds")) };
    if (kind) body.kind = kind;
    if (purpose) body.purpose = purpose;
    if (purpose === "revote") body.revote = String(form.get("revote") || "") || undefined;
    if (kind === "conclusion") body.recommendation = String(form.get("recommendation"));
    if (kind === "amendment") {
      const put = form.getAll("amendment").map(String);
      if (put.length) body.amendments = put; // none chosen: the server says an amendment vote names them
      if (put.length && !form.get("subject")) body.subject = amendmentSubject(put);
    }
    if (kind === "conclusion") {
      const proposed = form.getAll("amendment").map(String); // those the conclusion proposes, if any
      if (proposed.length) body.amendments = proposed;
    }
    if (form.get("secret") && !$("secret-row").hidden) {
      body.secret = true;
      body.question = String(form.get("question"));
    }
    command(body, event.target);
  });
  $("secret").addEventListener("change", () => render());
  $("commission-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const members = form.getAll("member").map(String);
    command({ type: "commission.elect", members, threshold: Number(form.get("threshold")) }, event.target);
  });
  $("kind").addEventListener("change", () => {
    const rule = view.council?.vote_rules?.[$("kind").value]; // the council's threshold for the kind
    if (rule && [...$("rule").options].some((o) => o.value === rule)) $("rule").value = rule;
    renderKind();
  });
  $("purpose").addEventListener("change", renderKind);
  $("close-vote").addEventListener("click", (event) => closeVote(event.currentTarget));
  $("cancel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    cancelVote(event.target);
  });
  $("propose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    propose(event.target);
  });
  $("finish-speech").addEventListener("click", (event) => command({ type: "speaker.finish" }, event.currentTarget));
  $("item-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveItem(event.target);
  });
  $("item-cancel").addEventListener("click", () => {
    view.editing = null;
    $("item-form").reset();
    render();
  });
  $("link-form").addEventListener("submit", (event) => {
    event.preventDefault();
    makeLink($("deputy").value, event.target);
  });
  $("unlock-form").addEventListener("submit", (event) => {
    event.preventDefault();
    unlock(event.target);
  });
  $("s-add-row").addEventListener("click", () => addAgendaRow().querySelector(".title").focus());
  $("schedule-form").date.min = new Date().toLocaleDateString("sv-SE"); // a sitting is scheduled ahead, not in the past
  $("schedule-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scheduleSitting(event.target);
  });
  setInterval(tick, 250);
  setInterval(() => view.client && renderConnection(view.client.status), 1000);
  setInterval(() => view.sessionId && reloadSittings().catch(() => undefined), 60_000); // another desk schedules
}

async function main() {
  wire();
  renderTexts();
  if (await auth.resume()) await enterDesk();
  else $("sign-in").hidden = false;
}

main();
