/**
 * The public live page (`/live/{session}`): for residents, without signing in — the broadcast (a
 * placeholder until video arrives), the agenda with the item under consideration, and the votes
 * live: the open vote's countdown and how many voted (never choices), then the totals, the outcome
 * and the roll call as a table. Ukrainian or English, remembered like the tablet's choice.
 */

import {
  LINES,
  clock,
  followInto,
  registeredDeputies,
  rollCallGroups,
  secondsUntil,
  shownVote,
} from "./public-feed.js";
import { STRINGS, format } from "./public-strings.js";

const LANG_KEY = "kvorum.lang"; // shared with the tablet: one choice per browser
const $ = (id) => document.getElementById(id);
const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).at(-1) ?? "");

const view = {
  lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "uk",
  state: null,
  council: null,
  status: "connecting",
  missing: false,
};

const s = () => STRINGS[view.lang];
const t = (key, params) => format(s(), key, params);

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

// ---- static texts and language --------------------------------------------------------------

function renderTexts() {
  document.documentElement.lang = s().lang;
  document.title = t("liveTitle");
  const other = view.lang === "uk" ? "en" : "uk";
  const button = $("lang");
  button.textContent = t("otherLang");
  button.lang = other; // the button names the other language in that language
  button.setAttribute("aria-label", t("otherLangName"));
  const texts = {
    "video-title": "video",
    "video-placeholder": "videoPlaceholder",
    "vote-title": "liveResults",
    "agenda-title": "agenda",
    "roll-caption": "rollCall",
    "col-name": "col_name",
    "col-faction": "col_faction",
    "col-choice": "col_choice",
  };
  for (const [id, key] of Object.entries(texts)) setText($(id), t(key));
  renderConnection();
  render();
}

function renderConnection() {
  $("connection").dataset.status = view.status;
  setText($("connection"), t(`connection_${view.status}`));
}

// ---- the session as it stands ---------------------------------------------------------------

function render() {
  const { state, council } = view;
  if (!state || !council) {
    if (view.missing) setText($("session-state"), t("loadFailed"));
    return;
  }
  setText($("council"), council.name);
  setText($("session-title"), state.title);
  renderSessionState(state, council);
  renderAgenda(state);
  renderVote(state, council);
  tick();
}

function renderSessionState(state, council) {
  const line = $("session-state");
  if (state.status !== "open") {
    line.dataset.quorum = "none";
    setText(line, t(`session_${state.status}`));
    return;
  }
  line.dataset.quorum = state.quorum ? "yes" : "no";
  const quorum = t("quorumLine", {
    quorum: t(state.quorum ? "quorumYes" : "quorumNo"),
    count: registeredDeputies(state, council),
    composition: council.composition,
  });
  setText(line, `${t("session_open")} · ${quorum}`);
}

function renderAgenda(state) {
  const list = $("agenda");
  const key = [view.lang, state.current_item, ...state.agenda.map((item) => `${item.id}:${item.status}`)].join(" ");
  if (list.dataset.key === key) return; // unchanged: leave the list alone (and a reader's place in it)
  list.dataset.key = key;
  list.replaceChildren(
    ...state.agenda.map((item) => {
      const li = el("li", "item");
      li.dataset.status = item.status;
      li.dataset.item = item.id;
      if (item.id === state.current_item) li.setAttribute("aria-current", "true");
      li.append(el("span", "title", t("itemLine", item)));
      li.append(el("span", "status", t(`item_${item.status}`)));
      if (item.draft) li.append(el("span", "draft", t("draft", { draft: item.draft })));
      return li;
    }),
  );
}

function renderVote(state, council) {
  const vote = shownVote(state);
  const mode = !vote ? "idle" : vote.status === "open" ? "vote" : vote.status === "closed" ? "results" : "cancelled";
  $("vote-panel").dataset.mode = mode;
  $("no-vote").hidden = mode !== "idle";
  setText($("no-vote"), t("noVote"));
  $("vote-open").hidden = mode !== "vote";
  $("vote-results").hidden = mode !== "results";
  $("cancelled").hidden = mode !== "cancelled";
  if (mode === "vote") {
    setText($("vote-subject"), t("voteSubject", { subject: vote.subject }));
    setText($("voted"), t("voted", { count: vote.voted }));
  } else if (mode === "results") {
    renderResults(vote, council);
  } else if (mode === "cancelled") {
    setText($("cancelled"), t("voteCancelled", { subject: vote.subject, reason: vote.reason ?? "" }));
  }
}

function renderResults(vote, council) {
  setText($("results-subject"), t("results", { subject: vote.subject }));
  const key = `${view.lang}:${vote.id}`;
  if ($("roll-call").dataset.vote === key) return; // a closed vote never changes
  $("roll-call").dataset.vote = key;
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
    t("outcomeLine", { outcome: t(`outcome_${tally.outcome}`), required: t("required", { required: tally.required }) }),
  );
  const rows = [];
  for (const group of rollCallGroups(council)) {
    const faction = group.key === "faction" ? group.faction : t(group.key === "mayor" ? "mayor" : "noFactionMember");
    for (const member of group.members) {
      const line = vote.roll_call[member.id] ?? "absent";
      const row = document.createElement("tr");
      row.dataset.member = member.id;
      row.dataset.choice = line;
      const name = el("th", "name", member.name);
      name.scope = "row";
      name.append(el("span", "faction-inline", faction)); // shown instead of the faction column on a phone
      row.append(name, el("td", "faction", faction), el("td", `choice ${line}`, t(`line_${line}`)));
      rows.push(row);
    }
  }
  $("roll-body").replaceChildren(...rows);
}

/** The countdown, every quarter second. */
function tick() {
  const vote = view.state && shownVote(view.state);
  setText($("countdown"), vote?.status === "open" ? t("timeLeft", { time: clock(secondsUntil(vote.closes_at)) }) : "");
}

// ---- start -----------------------------------------------------------------------------------

function main() {
  $("lang").addEventListener("click", () => {
    view.lang = view.lang === "uk" ? "en" : "uk";
    localStorage.setItem(LANG_KEY, view.lang);
    renderTexts();
  });
  renderTexts();
  followInto(view, sessionId, { render, renderConnection });
  setInterval(tick, 250);
}

main();
