/**
 * The public pages' loader: one session followed without signing in. It loads the council and the
 * session's snapshot, then follows the public Server-Sent Events stream
 * (`GET /api/v1/sessions/{id}/stream?since=<seq>`), applying each event in seq order with
 * `session-state.js`. EventSource reconnects by itself with `Last-Event-ID`, which the server
 * honours; a gap in the seqs (or an event that cannot be applied) reloads the snapshot.
 *
 * Also the small helpers both pages need to present a vote the same way.
 *
 * @module public-feed
 */

import { applyEvent, bodyOf, clock, fromSnapshot, secondsUntil, shownVote } from "./session-state.js";

export { clock, secondsUntil, shownVote };

/** Every session event type: the stream's messages are named, so each needs its own listener. */
export const EVENT_TYPES = [
  "session.scheduled",
  "session.opened",
  "session.closed",
  "registration.opened",
  "registration.closed",
  "presence.registered",
  "presence.left",
  "item.added",
  "item.updated",
  "item.removed",
  "item.started",
  "item.finished",
  "speaker.requested",
  "speaker.granted",
  "speaker.finished",
  "conflict.declared",
  "vote.opened",
  "ballot.cast",
  "ballot.sealed",
  "ballots.opened",
  "ballot.encrypted",
  "vote.tallying",
  "decryption.shared",
  "commission.elected",
  "commission.committed",
  "commission.dealt",
  "commission.ready",
  "commission.keyed",
  "commission.failed",
  "vote.closed",
  "vote.cancelled",
  "broadcast.started",
  "broadcast.interrupted",
  "broadcast.resumed",
  "broadcast.stopped",
];

const MIN_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

class MissingSession extends Error {}

const FETCH_MS = 8000; // a request on a link that swallows everything must end, so the loader tries again

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_MS) });
  if (response.status === 404) throw new MissingSession(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

/**
 * Follow one session: `onChange(state, council)` after the snapshot and after every event applied;
 * `onStatus("connecting" | "open" | "closed")` as the connection changes; `onMissing()` when the
 * server has no such session (the loader keeps asking, slowly).
 *
 * With `heartbeat` (seconds) the server sends a `heartbeat` event after that many silent seconds, so
 * a cut link shows within `heartbeat` + 2.5 s: the status turns "closed" and the stream restarts
 * (an EventSource alone notices a dead link only when TCP gives up, minutes later).
 *
 * @param {string} sessionId
 * @param {(state: object, council: object) => void} onChange
 * @param {{onStatus?: (status: string) => void, onMissing?: () => void, heartbeat?: number}} [options]
 * @returns {{close: () => void, readonly state: object | null, readonly council: object | null, readonly seq: number, readonly lastMessageAt: number}}
 */
export function follow(sessionId, onChange, { onStatus = () => {}, onMissing = () => {}, heartbeat = 0 } = {}) {
  const base = `/api/v1/sessions/${encodeURIComponent(sessionId)}`;
  let council = null;
  let state = null;
  let lastSeq = 0;
  let source = null;
  let status = null;
  let stopped = false;
  let restarting = false;
  let retryTimer = null;
  let retryMs = MIN_RETRY_MS;
  let lastMessageAt = 0;
  let watchdog = null;

  function heard() {
    lastMessageAt = Date.now();
    if (status !== "open" && source && source.readyState === EventSource.OPEN) setStatus("open");
  }

  function watch() {
    if (!heartbeat || watchdog) return;
    watchdog = setInterval(() => {
      if (stopped || restarting || !source || status !== "open") return;
      if (Date.now() - lastMessageAt > heartbeat * 1000 + 2500) {
        setStatus("closed"); // silent past its heartbeat: the link is gone, whatever the socket thinks
        restart();
      }
    }, 500);
  }

  function setStatus(next) {
    if (next === status) return;
    status = next;
    onStatus(next);
  }

  async function load() {
    const [c, snapshot] = await Promise.all([getJson("/api/v1/council"), getJson(base)]);
    const next = fromSnapshot(snapshot.state);
    council = c;
    state = next;
    lastSeq = snapshot.seq;
  }

  function receive(message) {
    heard();
    if (restarting || !state) return; // a fresh snapshot is on its way; the stream restarts after it
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      restart();
      return;
    }
    if (event.seq <= lastSeq) return; // already applied (a replay after reconnecting)
    if (event.seq !== lastSeq + 1) {
      restart(); // a gap: something was missed, start again from a snapshot
      return;
    }
    try {
      applyEvent(state, event, council);
    } catch (error) {
      console.warn("event could not be applied; reloading the session", event, error);
      restart();
      return;
    }
    lastSeq = event.seq;
    onChange(state, council);
  }

  function listen() {
    const es = new EventSource(`${base}/stream?since=${lastSeq}${heartbeat ? `&heartbeat=${heartbeat}` : ""}`);
    source = es;
    es.onopen = () => {
      retryMs = MIN_RETRY_MS;
      lastMessageAt = Date.now();
      setStatus("open");
    };
    es.addEventListener("heartbeat", heard);
    es.onerror = () => {
      if (es !== source) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server answered with an error, not a stream: EventSource gives up, so we retry.
        setStatus("closed");
        retryLater();
      } else {
        setStatus("connecting"); // EventSource reconnects by itself, sending Last-Event-ID
      }
    };
    for (const type of EVENT_TYPES) es.addEventListener(type, receive);
    // The server fell behind and ends the stream; EventSource resumes from Last-Event-ID.
    es.addEventListener("resync", () => setStatus("connecting"));
  }

  function retryLater() {
    clearTimeout(retryTimer);
    const delay = retryMs * (0.5 + Math.random() / 2);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    retryTimer = setTimeout(restart, delay);
  }

  async function restart() {
    if (stopped || restarting) return;
    restarting = true;
    source?.close();
    source = null;
    setStatus("connecting");
    try {
      await load();
    } catch (error) {
      if (error instanceof MissingSession) onMissing();
      setStatus("closed");
      restarting = false;
      if (!stopped) retryLater();
      return;
    }
    restarting = false;
    if (stopped) return;
    onChange(state, council);
    listen();
  }

  restart();
  watch();
  return {
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(watchdog);
      source?.close();
      setStatus("closed");
    },
    get state() {
      return state;
    },
    get council() {
      return council;
    },
    get seq() {
      return lastSeq;
    },
    get lastMessageAt() {
      return lastMessageAt;
    },
  };
}

// ---- presenting a vote ------------------------------------------------------------------------

/**
 * What the screens say while a vote is under way: how many voted, as far as the council's results setting
 * shows it; a secret ballot says it is one, and once it takes no more ballots that the counting commission
 * is counting it («… (1 з 2 членів)»). Returns the strings key and its values.
 */
export function underWay(vote, state, council) {
  if (vote.secret) {
    const needed = state.commission?.threshold ?? 0;
    return vote.product
      ? ["votedTallying", { count: vote.voted, done: vote.decrypted_by.length, needed }]
      : ["votedSecret", { count: vote.voted }];
  }
  // sealed: under way, and ("counts") how many have voted or ("hidden") not even that; live: how many voted
  return [!vote.sealed ? "voted" : council?.results === "hidden" ? "votedHidden" : "votedSealed", { count: vote.voted }];
}

/** The choices of a roll call, in the order the totals are shown. */
export const LINES = ["for", "against", "abstain", "not_voted", "absent"];

/**
 * The composition a closed vote was counted from, as `composition()` states it: the statutory
 * composition, plus the mayor when the mayor had a line in the roll call (taking part, art. 59 part 2);
 * at a committee's sitting (`committee`), the committee's composition (art. 47).
 */
export function voteComposition(vote, council, committee = null) {
  const body = bodyOf(council, committee);
  const mayor = body.deputies.find((d) => d.mayor)?.id;
  const takingPart = mayor !== undefined && vote.roll_call?.[mayor] !== undefined && vote.roll_call[mayor] !== "absent";
  const total = body.composition + (takingPart ? 1 : 0);
  return { statutory: body.composition, mayor_taking_part: takingPart, total, committee: body !== council };
}

/** A member's name, or the id when the roster does not know it. */
export function memberName(council, id) {
  return council.deputies.find((d) => d.id === id)?.name ?? id;
}

/**
 * The members with a line in `rollCall`, grouped: the mayor first, then the factions in the
 * council's order (`council.factions`), then those without one; names in Ukrainian alphabetical order
 * (`Intl.Collator("uk")`, so "Рідне" comes before "Розвиток", unlike a sort by code point).
 *
 * @returns {{key: string, faction: string | null, members: {id: string, name: string}[]}[]}
 *   `key` is `"mayor"`, `"faction"` or `"none"`
 */
export function rollCallGroups(council, rollCall) {
  const collator = new Intl.Collator("uk");
  const sorted = (members) => [...members].sort((a, b) => collator.compare(a.name, b.name));
  // Only members with a line: the mayor who takes no part in the meeting is not in the composition.
  const lined = council.deputies.filter((d) => rollCall[d.id] !== undefined);
  const groups = [];
  const mayor = lined.filter((d) => d.mayor);
  if (mayor.length) groups.push({ key: "mayor", faction: null, members: mayor });
  for (const faction of council.factions) {
    const members = lined.filter((d) => !d.mayor && d.faction === faction);
    if (members.length) groups.push({ key: "faction", faction, members: sorted(members) });
  }
  const none = lined.filter((d) => !d.mayor && !d.faction);
  if (none.length) groups.push({ key: "none", faction: null, members: sorted(none) });
  return groups;
}

/**
 * What the connection light of a public page shows: green only while the feed is heard; once it was,
 * any other state is a lost link (`"lost"`), said in red until the feed is back.
 *
 * @returns {{status: "open" | "connecting" | "closed", text: "connection_open" | "connection_connecting" | "connection_closed" | "connection_lost"}}
 */
export function connectionLight(view) {
  if (view.status === "open") view.everOpen = true;
  if (view.status === "open") return { status: "open", text: "connection_open" };
  if (view.everOpen) return { status: "closed", text: "connection_lost" };
  return { status: view.status, text: `connection_${view.status}` };
}

/**
 * `follow` into a page's `view`: `state`, `council`, `status` and `missing` (no such session) are
 * kept there, and `render` / `renderConnection` are called when they change.
 */
export function followInto(view, sessionId, { render, renderConnection, heartbeat = 0 }) {
  return follow(
    sessionId,
    (state, council) => {
      view.state = state;
      view.council = council;
      view.missing = false;
      render();
    },
    {
      onStatus: (status) => {
        view.status = status;
        renderConnection();
      },
      onMissing: () => {
        view.missing = true;
        render();
      },
      heartbeat,
    },
  );
}
