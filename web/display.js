/**
 * The chamber display (`/display/{session}`): what the projector in the hall shows, live and without
 * signing in — the item, quorum, the speaker, conflicts of interest, an open vote's countdown and
 * the number who voted (never choices), and after the vote the totals, the outcome and the
 * roll-call grid by faction. `?lang=en` shows it in English.
 */

import {
  LINES,
  clock,
  connectionLight,
  followInto,
  memberName,
  rollCallGroups,
  secondsUntil,
  shownVote,
  underWay,
  voteComposition,
} from "./public-feed.js";
import { STRINGS, format } from "./public-strings.js";
import { amendmentOutcome, compositionLine, kindLine, registrationLine } from "./ukrainian.js";

const $ = (id) => document.getElementById(id);
const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).at(-1) ?? "");
const lang = new URLSearchParams(location.search).get("lang") === "en" ? "en" : "uk";
const s = STRINGS[lang];
const t = (key, params) => format(s, key, params);

const view = { state: null, council: null, status: "connecting", missing: false };

/** Set text only when it changes, so live regions announce changes and nothing else. */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Green only while the feed is heard; once it was, any other state is a lost link, said in red. */
function renderConnection() {
  const light = connectionLight(view);
  $("connection").dataset.status = light.status;
  setText($("connection"), t(light.text));
}

function render() {
  const { state, council } = view;
  if (!state || !council) {
    if (view.missing) setText($("item"), t("loadFailed"));
    return;
  }
  setText($("council"), council.name);
  setText($("session-title"), state.title);
  renderQuorum(state);
  renderItem(state);
  renderSpeaker(state, council);
  renderConflicts(state, council);
  renderVote(state, council);
  tick();
}

function renderQuorum(state) {
  const quorum = $("quorum");
  if (state.status !== "open") {
    quorum.dataset.quorum = "none";
    setText(quorum, t(`session_${state.status}`));
    setText($("registration"), "");
    return;
  }
  quorum.dataset.quorum = state.quorum ? "yes" : "no";
  setText(quorum, t(state.quorum ? "quorumYes" : "quorumNo"));
  setText($("registration"), registrationLine(lang, state.composition));
}

function renderItem(state) {
  setText($("item-heading"), t("currentItem"));
  const item = state.agenda.find((i) => i.id === state.current_item);
  setText($("item"), item ? t("itemLine", item) : t(state.status === "open" ? "noItem" : `session_${state.status}`));
}

function renderSpeaker(state, council) {
  const current = state.speakers.current;
  $("speaker-panel").hidden = !current;
  setText($("speaker-heading"), t("speaker"));
  setText($("speaker-name"), current ? memberName(council, current.deputy) : "");
}

function renderConflicts(state, council) {
  const names = state.conflicts
    .filter((c) => c.item === state.current_item)
    .map((c) => memberName(council, c.deputy));
  $("conflicts-panel").hidden = names.length === 0;
  setText($("conflicts-heading"), t("conflicts"));
  const list = $("conflicts");
  if (list.dataset.names !== names.join("\n")) {
    list.dataset.names = names.join("\n");
    list.replaceChildren(...names.map((name) => el("li", "", name)));
  }
}

function renderVote(state, council) {
  const vote = shownVote(state);
  const mode = !vote ? "idle" : vote.status === "open" ? "vote" : vote.status === "closed" ? "results" : "cancelled";
  $("main").dataset.mode = mode;
  $("vote-panel").hidden = mode !== "vote";
  $("results-panel").hidden = mode !== "results";
  $("cancelled").hidden = mode !== "cancelled";
  if (mode === "vote") {
    setText($("vote-heading"), t("voteSubject", { subject: vote.subject }));
    setText($("vote-kind"), kindLine(lang, vote, state.votes));
    const [key, values] = underWay(vote, state, council);
    setText($("voted"), t(key, values));
  } else if (mode === "results") {
    renderResults(vote, council, state.committee);
    setText($("results-kind"), kindLine(lang, vote, state.votes));
  } else if (mode === "cancelled") {
    setText($("cancelled"), t("voteCancelled", { subject: vote.subject, reason: vote.reason ?? "" }));
  }
}

/** How many «за» the vote needed and by which rule: «потрібно 18: більшість від складу ради». */
function requiredLine(vote) {
  const { tally } = vote;
  const registered = tally.for + tally.against + tally.abstain + tally.not_voted;
  return t("required", { required: tally.required, rule: t(`rule_${vote.rule}`, { registered }) });
}

function renderResults(vote, council, committee) {
  setText($("results-heading"), t("results", { subject: vote.subject }));
  const key = `${lang}:${vote.id}`;
  if ($("roll-call").dataset.vote === key) return; // a closed vote never changes
  const { tally } = vote;
  $("totals").replaceChildren(
    ...LINES.map((line) => {
      const li = el("li", `total ${line}`);
      li.dataset.line = line;
      li.append(el("span", "count", String(tally[line])), el("span", "what", t(`total_${line}`)));
      return li;
    }),
  );
  const outcome = $("outcome");
  outcome.dataset.outcome = tally.outcome;
  setText(
    outcome,
    t("outcomeLine", { outcome: amendmentOutcome(lang, vote) ?? t(`outcome_${tally.outcome}`), required: requiredLine(vote) }),
  );
  setText($("composition"), compositionLine(lang, voteComposition(vote, council, committee)));
  const roll = $("roll-call");
  roll.dataset.vote = key;
  roll.setAttribute("aria-label", t("rollCall"));
  roll.replaceChildren(
    ...rollCallGroups(council, vote.roll_call).map((group) => {
      const section = el("section", `group ${group.key}`);
      section.append(el("h3", "group-name", group.key === "faction" ? group.faction : t(group.key === "mayor" ? "mayor" : "noFaction")));
      const cells = el("ul", "cells");
      cells.dataset.size = String(group.members.length);
      for (const member of group.members) {
        const line = vote.roll_call[member.id];
        const cell = el("li", `cell ${line}`);
        cell.dataset.member = member.id;
        cell.dataset.choice = line;
        cell.append(el("span", "name", member.name), el("span", "mark", t(`mark_${line}`)));
        cells.append(cell);
      }
      section.append(cells);
      return section;
    }),
  );
}

/** The countdowns, every quarter second. */
function tick() {
  const state = view.state;
  if (!state) return;
  const vote = shownVote(state);
  setText($("vote-clock"), vote?.status === "open" && !vote.product ? clock(secondsUntil(vote.closes_at)) : "");
  const current = state.speakers.current;
  setText($("speaker-clock"), current?.until ? clock(secondsUntil(current.until)) : "");
}

function main() {
  document.documentElement.lang = s.lang;
  document.title = t("displayTitle");
  renderConnection();
  followInto(view, sessionId, { render, renderConnection, heartbeat: 2 }); // a cut shows within 5 s
  setInterval(tick, 250);
}

main();
