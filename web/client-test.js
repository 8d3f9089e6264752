/**
 * The harness behind client-test.html: puts the client on `window.kvorumTest` for the browser
 * tests (tests/test_js_client.py) to drive with `page.evaluate`, and records what it did.
 *
 * @module client-test
 */

import { canonicalize } from "./jcs.js";
import { ChainError, CommandError, SessionClient, ZERO_HASH, eventHash, verifyNext } from "./kvorum-client.js";

/** Every socket the client opened, with what it sent; `offline` sends new ones nowhere. */
const sockets = [];

/** A WebSocket that records itself, and fails to connect while the harness is "offline". */
class RecordedSocket extends WebSocket {
  constructor(url) {
    // Port 9 on loopback refuses the connection: a network that is down, as the client sees it.
    super(harness.offline ? "ws://127.0.0.1:9/" : url);
    this.sent = [];
    sockets.push(this);
  }

  send(data) {
    this.sent.push(JSON.parse(data));
    super.send(data);
  }
}

const harness = {
  SessionClient, ChainError, CommandError, ZERO_HASH, canonicalize, eventHash, verifyNext,
  sockets,
  offline: false,
  token: "",
  client: null,
  /** What the client reported, in order. */
  log: { status: [], snapshots: [], seqs: [], errors: [], acks: [] },

  /** Start a client on `session`, taking its token from `harness.token` at every connection. */
  start(session, options = {}) {
    const client = new SessionClient({ session, token: () => harness.token, WebSocket: RecordedSocket, ...options });
    client.addEventListener("status", ({ detail }) => harness.log.status.push(detail));
    client.addEventListener("snapshot", ({ detail }) => harness.log.snapshots.push(detail.seq));
    client.addEventListener("event", ({ detail }) => harness.log.seqs.push(detail.seq));
    client.addEventListener("error", ({ detail }) => {
      // Where the client stood when it reported: a refused event must not have moved it.
      harness.log.errors.push({ ...detail, lastSeq: client.lastSeq, lastHash: client.lastHash });
    });
    client.addEventListener("ack", ({ detail }) => harness.log.acks.push(detail));
    harness.client = client;
    client.start();
    return client;
  },

  /** Close the client's current socket under it, as a dropped network would. */
  dropSocket() {
    sockets.at(-1).close();
  },
};

window.kvorumTest = harness;
