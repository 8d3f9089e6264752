/**
 * Kvorum's real-time session client: one plenary session's events over `WS /ws/sessions/{id}`,
 * each checked against the hash chain, resumed after any drop, with commands that survive one.
 *
 * Protocol (session_server/realtime.py): the client sends `{"type":"auth","token"}`, then
 * `{"type":"sync","since"}` and any `{"type":"command","command"}`; the server answers with a
 * `snapshot` (since 0 or too far behind) or the events after `since`, then live `event`s in seq
 * order, an `ack` or `error` per command, and `resync` before it closes a slow client with 4000.
 *
 * For a whole sitting day on one sign-in: before the access token expires the page calls
 * `reauthenticate()` (the socket sends a fresh `auth` and stays open); a command refused with
 * `token_expired` is not failed but sent again after a fresh token. And so that the connection
 * status never lies, the client sends `{"type":"ping"}` whenever the link has been quiet for
 * `pingInterval` ms; no message at all for `deadAfter` ms means the link is gone: the status turns
 * "closed" at once and the client reconnects.
 *
 * @module kvorum-client
 */

import { canonicalBytes } from "./jcs.js";

/** The hash before seq 1: 32 zero bytes. */
export const ZERO_HASH = "0".repeat(64);

const RESYNC = 4000;
const NOT_FOUND = 4404;

/** An event the client refused; `reason` is `out_of_order`, `broken_chain` or `bad_event`. */
export class ChainError extends Error {
  /** @param {string} reason @param {string} message */
  constructor(reason, message) {
    super(message);
    this.name = "ChainError";
    this.reason = reason;
  }
}

/** A command the server refused (`error` is its stable code), or one dropped by `close()`. */
export class CommandError extends Error {
  /** @param {string} error @param {string} message */
  constructor(error, message) {
    super(message);
    this.name = "CommandError";
    this.error = error;
  }
}

/**
 * The hash an event must carry: hex SHA-256(prevHash bytes ‖ JCS(event without "hash")).
 *
 * @param {string} prevHash 64 hex digits
 * @param {object} event
 * @returns {Promise<string>}
 */
export async function eventHash(prevHash, event) {
  const { hash: _ignored, ...body } = event;
  const canonical = canonicalBytes(body);
  const data = new Uint8Array(32 + canonical.length);
  data.set(hexToBytes(prevHash), 0);
  data.set(canonical, 32);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Check that `event` is the one that follows `lastSeq`/`lastHash`; resolves with its hash.
 *
 * @param {number} lastSeq @param {string} lastHash @param {any} event
 * @returns {Promise<string>}
 * @throws {ChainError}
 */
export async function verifyNext(lastSeq, lastHash, event) {
  if (typeof event !== "object" || event === null || typeof event.hash !== "string") {
    throw new ChainError("bad_event", "an event without a hash");
  }
  if (event.seq !== lastSeq + 1) {
    throw new ChainError("out_of_order", `expected seq ${lastSeq + 1}, got ${event.seq}`);
  }
  let expected;
  try {
    expected = await eventHash(lastHash, event);
  } catch (exc) {
    throw new ChainError("bad_event", `seq ${event.seq} cannot be canonicalised: ${exc.message}`);
  }
  if (expected !== event.hash) {
    throw new ChainError("broken_chain", `seq ${event.seq} does not chain: its hash should be ${expected}`);
  }
  return expected;
}

/** @param {string} hex */
function hexToBytes(hex) {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError("a hash is 64 lower-case hex digits");
  return Uint8Array.from(hex.match(/../g), (pair) => parseInt(pair, 16));
}

/**
 * One session, live. Dispatches (as `CustomEvent`s, data in `detail`):
 * `status` ("connecting" | "open" | "closed"), `snapshot` ({seq, hash, state}), `event` (a checked
 * event), `ack` ({id, seq}), `error` ({reason, message, event?}: a refused event, a server error
 * without a command id, a token that could not be had, or `session_not_found`).
 */
export class SessionClient extends EventTarget {
  /** The latest snapshot's state (events after it are in `events`). */ state = null;
  /** The seq of that snapshot. */ snapshotSeq = 0;
  /** The last seq accepted (0 before anything). */ lastSeq = 0;
  /** The hash of the last event accepted, or of the snapshot. */ lastHash = ZERO_HASH;
  /** @type {object[]} every event accepted since the snapshot, in seq order */ events = [];
  /** @type {"connecting" | "open" | "closed"} */ status = "closed";
  /** When the last message of any kind arrived (ms since the epoch), 0 before any. */ lastMessageAt = 0;
  /** @type {Map<string, {command: object, resolve: Function, reject: Function}>} */
  unacknowledged = new Map();

  #token; #url; #Socket; #min; #max; #pingInterval; #deadAfter;
  #ws = null; #timer = null; #attempt = 0; #stopped = true; #watchdog = null; #lastPingAt = 0; #openedAt = 0;
  #inbox = Promise.resolve();

  /**
   * @param {object} options
   * @param {string} options.session the session id, e.g. "c8-s45"
   * @param {() => string | Promise<string>} options.token called before every connection, so a
   *   refreshed access token is the one used on reconnect
   * @param {string} [options.url] defaults to ws(s)://<this page's host>/ws/sessions/<session>
   * @param {number} [options.minDelay=250] first reconnect delay in ms, doubled per failure …
   * @param {number} [options.maxDelay=5000] … up to this; each delay is jittered to 50–100 %
   * @param {number} [options.pingInterval=1500] ping when nothing came for this long (ms)
   * @param {number} [options.deadAfter=4000] nothing at all for this long (ms): the link is gone
   * @param {typeof WebSocket} [options.WebSocket] the socket class (tests pass a wrapper)
   */
  constructor({
    session,
    token,
    url,
    minDelay = 250,
    maxDelay = 5000,
    pingInterval = 1500,
    deadAfter = 4000,
    WebSocket = globalThis.WebSocket,
  }) {
    super();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.#url = url ?? `${scheme}//${location.host}/ws/sessions/${encodeURIComponent(session)}`;
    this.#token = token;
    this.#Socket = WebSocket;
    this.#min = minDelay;
    this.#max = maxDelay;
    this.#pingInterval = pingInterval;
    this.#deadAfter = deadAfter;
  }

  /** Connect, and keep reconnecting until `close()`. */
  start() {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#connect();
  }

  /** Disconnect for good; commands still unacknowledged are rejected with `client_closed`. */
  close() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = null;
    clearInterval(this.#watchdog);
    this.#watchdog = null;
    this.#drop();
    this.#setStatus("closed");
    for (const [id, { reject }] of this.unacknowledged) {
      reject(new CommandError("client_closed", `command ${id} was not acknowledged before close()`));
    }
    this.unacknowledged.clear();
  }

  /**
   * Send a command; it is resent after every reconnect until the server answers it (the server
   * returns the first outcome for an id it has seen, so a resend never acts twice).
   *
   * @param {{type: string, id?: string}} command
   * @returns {Promise<{id: string, seq: number}>} the ack, or a rejection with a `CommandError`
   */
  send(command) {
    const sent = { ...command, id: command.id ?? crypto.randomUUID() };
    const reply = new Promise((resolve, reject) => this.unacknowledged.set(sent.id, { command: sent, resolve, reject }));
    if (this.status === "open") this.#ws.send(JSON.stringify({ type: "command", command: sent }));
    return reply;
  }

  /**
   * Give the open socket a fresh access token (call it when the page's token is renewed): the
   * subscription goes on, and commands are accepted past the old token's end.
   *
   * @param {{fresh?: boolean, resend?: boolean}} [options] `fresh`: ask for a new token even if the
   *   one held seems valid; `resend`: then send every unacknowledged command again (after signing in
   *   again: those refused for the old token wait; a resend never acts twice)
   * @returns {Promise<boolean>} whether a fresh token went out on the open socket
   */
  async reauthenticate(options = {}) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false; // the next connection authenticates with a fresh token anyway
    let token;
    try {
      token = await this.#token(options);
    } catch (exc) {
      this.#report({ reason: "token", message: `no access token: ${exc.message ?? exc}`, error: exc.error });
      return false;
    }
    if (ws !== this.#ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify({ type: "auth", token }));
    if (options.resend) {
      for (const { command } of this.unacknowledged.values()) ws.send(JSON.stringify({ type: "command", command }));
    }
    return true;
  }

  async #connect() {
    this.#timer = null;
    this.#setStatus("connecting");
    let token;
    try {
      token = await this.#token();
    } catch (exc) {
      this.#report({ reason: "token", message: `no access token: ${exc.message ?? exc}`, error: exc.error });
      return this.#reconnect();
    }
    if (this.#stopped || this.#ws !== null) return; // closed, or started again, while we waited
    this.#watch();
    let ws;
    try {
      ws = new this.#Socket(this.#url);
    } catch (exc) {
      this.#report({ reason: "socket", message: `cannot open ${this.#url}: ${exc.message}` });
      return this.#reconnect();
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (ws !== this.#ws) return;
      ws.send(JSON.stringify({ type: "auth", token }));
      ws.send(JSON.stringify({ type: "sync", since: this.lastSeq }));
      for (const { command } of this.unacknowledged.values()) ws.send(JSON.stringify({ type: "command", command }));
      // "open" only once the server answers: a pong after the catch-up proves the link works.
      this.#openedAt = Date.now();
      this.#ping(ws);
    };
    ws.onmessage = ({ data }) => {
      if (ws !== this.#ws) return;
      this.lastMessageAt = Date.now();
      this.#setStatus("open");
      this.#inbox = this.#inbox
        .then(() => this.#receive(ws, data))
        .catch((exc) => this.#refuse(ws, { reason: "bad_message", message: String(exc?.message ?? exc) }));
    };
    ws.onclose = ({ code, reason }) => {
      if (ws !== this.#ws) return; // one we dropped ourselves
      this.#ws = null;
      if (code === NOT_FOUND) {
        this.#report({ reason: "session_not_found", message: reason || "no such session" });
        return this.close();
      }
      this.#reconnect(code === RESYNC ? 0 : undefined);
    };
  }

  /** Handle one message; messages are handled one at a time, in the order they came. */
  async #receive(ws, data) {
    if (ws !== this.#ws) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return this.#refuse(ws, { reason: "bad_message", message: "a message that is not JSON" });
    }
    switch (message.type) {
      case "snapshot": {
        const { seq, hash } = message;
        if (!Number.isSafeInteger(seq) || seq < 0 || !(seq === 0 || /^[0-9a-f]{64}$/.test(hash))) {
          return this.#refuse(ws, { reason: "bad_message", message: "a snapshot without a valid seq and hash" });
        }
        this.#attempt = 0;
        Object.assign(this, { state: message.state, snapshotSeq: seq, lastSeq: seq, events: [] });
        this.lastHash = seq === 0 ? ZERO_HASH : hash;
        return this.#emit("snapshot", { seq, hash: this.lastHash, state: message.state });
      }
      case "event": {
        let hash;
        try {
          hash = await verifyNext(this.lastSeq, this.lastHash, message.event);
        } catch (exc) {
          if (!(exc instanceof ChainError)) throw exc;
          return this.#refuse(ws, { reason: exc.reason, message: exc.message, event: message.event });
        }
        if (ws !== this.#ws) return; // dropped while hashing: the next connection resends it
        this.#attempt = 0;
        this.lastSeq = message.event.seq;
        this.lastHash = hash;
        this.events.push(message.event);
        return this.#emit("event", message.event);
      }
      case "pong":
      case "authenticated":
        return; // the link is alive (noted on arrival) / the fresh token was taken
      case "ack":
      case "error": {
        const pending = message.id === undefined ? undefined : this.unacknowledged.get(message.id);
        if (pending === undefined) {
          if (message.type === "error") this.#report({ reason: message.error, message: message.message });
          return;
        }
        if (message.type === "error" && (message.error === "token_expired" || message.error === "token_revoked")) {
          // Not a refusal of the command: renew the token on this socket, then send the command again
          // (a revoked one cannot be renewed either: the page then asks the person to sign in again).
          // Without a token (signed out, offline) it stays pending and goes out on the next connection.
          if (await this.reauthenticate({ fresh: true })) ws.send(JSON.stringify({ type: "command", command: pending.command }));
          return;
        }
        this.unacknowledged.delete(message.id);
        if (message.type === "error") {
          return pending.reject(Object.assign(new CommandError(message.error, message.message), { field: message.field }));
        }
        pending.resolve({ id: message.id, seq: message.seq });
        return this.#emit("ack", { id: message.id, seq: message.seq });
      }
      case "resync":
        return this.#drop(0); // the server closes with 4000 next: reconnect at once
      default:
        return this.#refuse(ws, { reason: "bad_message", message: `unknown message type ${message.type}` });
    }
  }

  /** Report a refused message and reconnect from the last good seq. */
  #refuse(ws, detail) {
    this.#report(detail);
    if (ws === this.#ws) this.#drop();
  }

  /** Close the current socket ourselves; unless stopped, reconnect after `delay` (else backoff). */
  #drop(delay) {
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState < 2) ws.close(1000);
    if (!this.#stopped) this.#reconnect(delay);
  }

  /** Every so often: ping a quiet link, and give up on a silent one (the status must never lie). */
  #watch() {
    if (this.#watchdog !== null) return;
    this.#watchdog = setInterval(() => {
      const ws = this.#ws;
      if (this.#stopped || !ws || ws.readyState !== 1) return;
      const now = Date.now();
      const heard = Math.max(this.lastMessageAt, this.#openedAt);
      if (now - heard > this.#deadAfter) {
        this.#report({ reason: "silent", message: `nothing from the server for ${now - heard} ms` });
        return this.#drop();
      }
      if (now - heard >= this.#pingInterval && now - this.#lastPingAt >= this.#pingInterval) this.#ping(ws);
    }, Math.max(100, Math.min(500, this.#pingInterval / 3)));
  }

  #ping(ws) {
    this.#lastPingAt = Date.now();
    ws.send(JSON.stringify({ type: "ping" }));
  }

  #reconnect(delay) {
    if (this.#stopped || this.#timer !== null) return;
    this.#setStatus("closed");
    if (delay === undefined) {
      const cap = Math.min(this.#max, this.#min * 2 ** this.#attempt++);
      delay = cap / 2 + Math.random() * (cap / 2);
    }
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.#emit("status", status);
  }

  #report(detail) {
    this.#emit("error", detail);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
