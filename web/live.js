/**
 * The public live page (`/live/{session}`): for residents, without signing in — the broadcast
 * (WebRTC, or HLS when the server is full; the recording with its chapters once it ended), the
 * agenda with the item under consideration, and the votes
 * live: the open vote's countdown and how many voted (never choices), then the totals, the outcome
 * and the roll call as a table. Ukrainian or English, remembered like the tablet's choice.
 */

import {
  LINES,
  clock,
  connectionLight,
  followInto,
  rollCallGroups,
  secondsUntil,
  shownVote,
  underWay,
  voteComposition,
} from "./public-feed.js";
import { STRINGS, format } from "./public-strings.js";
import { amendmentOutcome, compositionLine, registrationLine, rollCallLine } from "./ukrainian.js";
import { watch } from "./video.js";

const LANG_KEY = "kvorum.lang"; // shared with the tablet: one choice per browser
const $ = (id) => document.getElementById(id);
const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).at(-1) ?? "");

const view = {
  lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "uk",
  state: null,
  council: null,
  status: "connecting",
  missing: false,
  video: { status: "off", watching: null, viewers: null, chapters: [], failed: false },
};

const VIEWERS_MS = 15_000; // the count is cached for a few seconds on the server anyway
const RECORDING_RETRY_MS = 2000;
const RECORDING_TRIES = 90; // three minutes for the longest session's recording to be joined

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
    "chapters-title": "chapters",
  };
  for (const [id, key] of Object.entries(texts)) setText($(id), t(key));
  renderConnection();
  render();
}

/** Green only while the feed is heard; once it was, any other state is a lost link, said in red. */
function renderConnection() {
  const light = connectionLight(view);
  $("connection").dataset.status = light.status;
  setText($("connection"), t(light.text));
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
  renderSessionState(state);
  renderAgenda(state);
  renderVote(state, council);
  renderVideo(state);
  tick();
}

// ---- the broadcast ----------------------------------------------------------------------------

function renderVideo(state) {
  const video = view.video;
  const status = state.broadcast?.status ?? "off";
  if (status !== video.status) {
    video.status = status;
    if (status === "live" && !video.watching) startWatching();
    if (status === "stopped") showRecording();
    if (status !== "live") refreshViewers();
  }
  const player = $("player");
  $("video").dataset.status = status;
  const texts = {
    off: "videoPlaceholder",
    live: video.failed ? "videoUnavailable" : video.watching ? "" : "videoConnecting",
    interrupted: "videoInterrupted",
    stopped: player.hidden ? "videoStopped" : "",
  };
  setText($("video-placeholder"), texts[status] ? t(texts[status]) : "");
  setText($("viewers"), video.viewers === null || status !== "live" ? "" : t("videoViewers", { count: video.viewers }));
  // Browsers start a page's video only muted; the sound is the resident's choice.
  const sound = $("sound");
  sound.hidden = player.hidden;
  sound.setAttribute("aria-pressed", String(!player.muted));
  setText(sound, t(player.muted ? "soundOn" : "soundOff"));
  renderChapters();
}

async function startWatching() {
  const video = view.video;
  const player = $("player");
  video.watching = "connecting";
  try {
    video.watching = await watch(player, sessionId);
    player.hidden = false;
    video.failed = false;
    refreshViewers();
  } catch {
    video.watching = null;
    video.failed = true;
  }
  render();
}

async function showRecording() {
  const video = view.video;
  if (video.watching && video.watching !== "connecting") video.watching.close();
  video.watching = null;
  const base = `/api/v1/sessions/${encodeURIComponent(sessionId)}`;
  let status;
  let chapters;
  // The server joins the recording after the broadcast stops: ask until it is there.
  for (let attempt = 0; attempt < RECORDING_TRIES && video.status === "stopped"; attempt += 1) {
    try {
      status = await fetch(`${base}/broadcast`, { cache: "no-store" }).then((r) => r.json());
      chapters = status.recording ? await fetch(`${base}/chapters`).then((r) => r.json()) : null;
    } catch {
      status = null; // offline for a moment: ask again
    }
    if (status?.recording) break;
    await new Promise((resolve) => setTimeout(resolve, RECORDING_RETRY_MS));
  }
  if (!status?.recording || video.status !== "stopped") return;
  const player = $("player");
  player.srcObject = null;
  player.src = status.recording;
  player.controls = true;
  player.autoplay = false;
  player.setAttribute("aria-label", t("videoRecording"));
  player.hidden = false;
  video.chapters = chapters.chapters;
  render();
}

function stamp(seconds) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = String(Math.floor((whole % 3600) / 60)).padStart(2, "0");
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${m}:${s}` : `${m}:${s}`;
}

function renderChapters() {
  const { chapters } = view.video;
  const list = $("chapters");
  $("chapters-nav").hidden = chapters.length === 0;
  if (list.dataset.count === String(chapters.length)) return;
  list.dataset.count = String(chapters.length);
  list.replaceChildren(
    ...chapters.map((chapter) => {
      const button = el("button");
      button.type = "button";
      const time = el("time", "", stamp(chapter.start));
      time.dateTime = `PT${chapter.start}S`;
      button.append(time, chapter.title);
      button.addEventListener("click", () => {
        const player = $("player");
        player.currentTime = chapter.start;
        player.play().catch(() => {});
      });
      const li = el("li");
      li.append(button);
      return li;
    }),
  );
}

async function refreshViewers() {
  if (view.video.status !== "live") {
    view.video.viewers = null;
    return;
  }
  try {
    const status = await fetch(`/api/v1/sessions/${encodeURIComponent(sessionId)}/broadcast`).then((r) => r.json());
    view.video.viewers = status.viewers.webrtc + status.viewers.hls;
  } catch {
    view.video.viewers = null;
  }
  render();
}

function renderSessionState(state) {
  const line = $("session-state");
  if (state.status !== "open") {
    line.dataset.quorum = "none";
    setText(line, t(`session_${state.status}`));
    setText($("registration"), "");
    return;
  }
  line.dataset.quorum = state.quorum ? "yes" : "no";
  setText(line, `${t("session_open")} · ${t(state.quorum ? "quorumYes" : "quorumNo")}`);
  setText($("registration"), registrationLine(view.lang, state.composition));
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
    const [key, values] = underWay(vote, state, council);
    setText($("voted"), t(key, values));
  } else if (mode === "results") {
    renderResults(vote, council, state.committee);
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
    t("outcomeLine", { outcome: amendmentOutcome(view.lang, vote) ?? t(`outcome_${tally.outcome}`), required: requiredLine(vote) }),
  );
  setText($("composition"), compositionLine(view.lang, voteComposition(vote, council, committee)));
  const rows = [];
  for (const group of rollCallGroups(council, vote.roll_call)) {
    const faction = group.key === "faction" ? group.faction : t(group.key === "mayor" ? "mayor" : "noFactionMember");
    for (const member of group.members) {
      const line = vote.roll_call[member.id];
      const row = document.createElement("tr");
      row.dataset.member = member.id;
      row.dataset.choice = line;
      const name = el("th", "name", member.name);
      name.scope = "row";
      name.append(el("span", "faction-inline", faction)); // shown instead of the faction column on a phone
      row.append(name, el("td", "faction", faction), el("td", `choice ${line}`, rollCallLine(view.lang, line, member.gender)));
      rows.push(row);
    }
  }
  $("roll-body").replaceChildren(...rows);
}

/** The countdown, every quarter second. */
function tick() {
  const vote = view.state && shownVote(view.state);
  setText($("countdown"), vote?.status === "open" && !vote.product ? t("timeLeft", { time: clock(secondsUntil(vote.closes_at)) }) : "");
}

// ---- start -----------------------------------------------------------------------------------

function main() {
  $("sound").addEventListener("click", () => {
    const player = $("player");
    player.muted = !player.muted;
    render();
  });
  $("lang").addEventListener("click", () => {
    view.lang = view.lang === "uk" ? "en" : "uk";
    localStorage.setItem(LANG_KEY, view.lang);
    renderTexts();
  });
  renderTexts();
  followInto(view, sessionId, { render, renderConnection, heartbeat: 5 });
  setInterval(tick, 250);
  setInterval(refreshViewers, VIEWERS_MS);
}

main();
