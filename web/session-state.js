/**
 * The public session state (the shape of `GET /api/v1/sessions/{id}` → `state`) advanced by events,
 * as `session_server/domain/session_state.py` (`evolve` + `to_public`) does on the server. The pages
 * start from the client's snapshot and apply each checked event with `applyEvent`.
 *
 * @module session-state
 */

/**
 * A deep copy of a snapshot's state, ready to be advanced.
 *
 * @param {object} state the snapshot's `state`; a member's own socket also gets `own`: `{member,
 *   ballots: {vote id: choice}}` for the open votes, since the public state shows who voted, not how
 * @returns {object}
 */
export function fromSnapshot(state) {
  const { own = { member: null, ballots: {} }, ...copy } = structuredClone(state);
  // vote id → Set of members who voted, so a change of mind is not counted as a new ballot
  copy._ballots = Object.fromEntries(copy.votes.map((v) => [v.id, new Set(v.voters ?? [])]));
  // vote id → member → choice, as far as this page has seen (its own from the snapshot, then the log)
  copy._choices = Object.fromEntries(Object.entries(own.ballots).map(([vote, choice]) => [vote, { [own.member]: choice }]));
  // vote id → member → signed ballots accepted (the index of the member's next ballot nonce)
  copy._signed = Object.fromEntries(Object.entries(own.signed ?? {}).map(([vote, n]) => [vote, { [own.member]: n }]));
  // vote id → member → the seq of the member's last ballot (the ledger entry the tablet shows)
  copy._ballotSeq = {};
  return copy;
}

/**
 * The one count every screen states, as `composition()` in session_server/domain/session_state.py:
 * the statutory composition, the registered deputies a quorum needs (more than half of it, art. 46),
 * the deputies registered, whether the mayor takes part (is registered: art. 59 part 2 then counts
 * the mayor in the composition), the composition thresholds are computed from, and all registered.
 *
 * @param {object} state
 * @param {{composition: number, deputies: {id: string, mayor: boolean}[]}} council
 */
export function composition(state, council) {
  const body = bodyOf(council, state.committee);
  const mayor = body.deputies.find((d) => d.mayor)?.id;
  const deputies = state.registered.filter((m) => m !== mayor).length;
  const takingPart = mayor !== undefined && state.registered.includes(mayor);
  return {
    statutory: body.composition,
    // art. 46: more than half; a committee's (art. 47 part 12): not less than half, unless its council asks more
    quorum: body.quorum_at_least_half ? Math.ceil(body.composition / 2) : Math.floor(body.composition / 2) + 1,
    registered_deputies: deputies,
    mayor_taking_part: takingPart,
    total: body.composition + (takingPart ? 1 : 0),
    registered: deputies + (takingPart ? 1 : 0),
    committee: body !== council,
  };
}

/**
 * The council as the body that sits, as `CouncilState.body` in session_server/domain/council.py: itself
 * for the plenary, else the committee — its composition, its members (no mayor).
 *
 * @param {object} council `GET /api/v1/council`
 * @param {string | null | undefined} committee the sitting's committee
 */
export function bodyOf(council, committee) {
  const found = committee ? council.committees?.find((c) => c.id === committee) : null;
  if (!found) return council;
  return {
    ...council,
    composition: found.composition,
    deputies: council.deputies.filter((d) => found.members.includes(d.id)),
    quorum_at_least_half: council.committee_quorum !== "majority",
  };
}

/** A member's ballot (open, sealed or encrypted) counted once among the vote's voters — a change of mind is not
 * a new ballot — and, when `signed`, the member's next nonce. */
function countBallot(state, v, p, signed) {
  if (signed) {
    const counts = (state._signed[p.vote] ??= {});
    counts[p.deputy] = (counts[p.deputy] ?? 0) + 1;
  }
  const voters = (state._ballots[p.vote] ??= new Set());
  if (!voters.has(p.deputy)) {
    voters.add(p.deputy);
    v.voters.push(p.deputy);
    v.voted = voters.size;
  }
}

/** Where the counting commission's key stands, as `Commission.stage` in session_server/domain/commission.py. */
function commissionStage(c) {
  if (c.failed) return "failed";
  if (c.key) return "keyed";
  if (c.committed.length < c.members.length) return "committing";
  if (c.dealt.length < c.members.length) return "dealing";
  return "confirming";
}

/**
 * Apply one event (already checked by the client) to `state`, in place.
 *
 * @param {object} state from `fromSnapshot`
 * @param {{type: string, payload: object, at: string}} event
 * @param {object} council `GET /api/v1/council`
 */
export function applyEvent(state, event, council) {
  const p = event.payload;
  const item = (id) => state.agenda.find((i) => i.id === id);
  const vote = (id) => state.votes.find((v) => v.id === id);
  switch (event.type) {
    case "session.opened":
      state.status = "open";
      break;
    case "session.closed":
      state.status = "closed";
      state.registration_open = false;
      break;
    case "registration.opened":
      state.registration_open = true;
      break;
    case "registration.closed":
      state.registration_open = false;
      break;
    case "presence.registered":
      if (!state.registered.includes(p.deputy)) state.registered.push(p.deputy);
      break;
    case "presence.left":
      state.registered = state.registered.filter((m) => m !== p.deputy);
      state.speakers.queue = state.speakers.queue.filter((m) => m !== p.deputy);
      break;
    case "item.added":
      state.agenda.splice(p.position - 1, 0, { id: p.item, number: p.number, title: p.title, draft: p.draft, status: "pending" });
      break;
    case "item.updated":
      for (const key of ["number", "title", "draft"]) if (key in p) item(p.item)[key] = p[key];
      break;
    case "item.removed":
      state.agenda = state.agenda.filter((i) => i.id !== p.item);
      break;
    case "item.started":
      item(p.item).status = "in_progress";
      state.current_item = p.item;
      break;
    case "item.finished":
      item(p.item).status = "done";
      state.current_item = null;
      break;
    case "speaker.requested":
      state.speakers.queue.push(p.deputy);
      break;
    case "speaker.granted":
      state.speakers.queue = state.speakers.queue.filter((m) => m !== p.deputy);
      state.speakers.current = { deputy: p.deputy, seconds: p.seconds, until: p.until };
      break;
    case "speaker.finished":
      state.speakers.current = null;
      break;
    case "conflict.declared":
      state.conflicts.push({ deputy: p.deputy, item: p.item, reason: p.reason });
      break;
    case "vote.opened":
      state.votes.push({
        id: p.vote,
        item: p.item,
        subject: p.subject,
        rule: p.rule,
        seconds: p.seconds,
        opened_at: event.at,
        closes_at: p.closes_at,
        nonce_seed: p.nonce_seed ?? "",
        status: "open",
        voted: 0,
        voters: [],
        tally: null,
        roll_call: null,
        reason: null,
        purpose: p.purpose ?? null,
        proposal: p.proposal ?? null,
        kind: p.kind ?? null,
        revote: p.revote ?? null,
        amendments: p.amendments ?? [],
        recommendation: p.recommendation ?? null,
        sealed: p.sealed ?? false,
        secret: p.secret ?? false,
        question: p.question ?? null,
        key: p.key ?? null,
        product: null,
        decrypted_by: [],
      });
      break;
    case "ballot.cast": {
      (state._choices[p.vote] ??= {})[p.deputy] = p.choice;
      (state._ballotSeq[p.vote] ??= {})[p.deputy] = event.seq;
      countBallot(state, vote(p.vote), p, Boolean(p.assertion));
      break;
    }
    case "ballot.sealed": {
      // a sealed vote: who voted, never how (the choice is opened at the close, docs/ledger.md). A member's
      // own tablet knows its own choice from what it sent (rememberOwnBallot); a later ballot of that member,
      // from another device, makes it unknown here.
      const seqs = (state._ballotSeq[p.vote] ??= {});
      if (seqs[p.deputy] !== event.seq && state._choices[p.vote]) delete state._choices[p.vote][p.deputy];
      seqs[p.deputy] = event.seq;
      countBallot(state, vote(p.vote), p, Boolean(p.nonce));
      break;
    }
    case "ballot.encrypted": {
      // a secret vote: who voted, never how — the server never learns it either (issue 20); a member's own
      // tablet knows its own choice from what it sent (rememberOwnBallot)
      countBallot(state, vote(p.vote), p, Boolean(p.assertion));
      break;
    }
    case "vote.tallying":
      vote(p.vote).product = p.product; // no more ballots: the counting commission decrypts
      break;
    case "decryption.shared": {
      const v = vote(p.vote);
      v.decrypted_by = [...v.decrypted_by, p.index].sort((a, b) => a - b);
      break;
    }
    case "commission.elected":
      state.commission = {
        members: p.members,
        threshold: p.threshold,
        attempt: p.attempt,
        stage: "committing",
        committed: [],
        dealt: [],
        ready: [],
        key: null,
        failed: null,
      };
      break;
    case "commission.committed":
    case "commission.dealt":
    case "commission.ready": {
      const c = state.commission;
      const step = { "commission.committed": "committed", "commission.dealt": "dealt", "commission.ready": "ready" }[event.type];
      c[step] = [...c[step], p.index].sort((a, b) => a - b);
      c.stage = commissionStage(c);
      break;
    }
    case "commission.keyed":
      Object.assign(state.commission, { key: p.key, stage: "keyed" });
      break;
    case "commission.failed":
      Object.assign(state.commission, { failed: { member: p.member, against: p.against }, stage: "failed" });
      break;
    case "ballots.opened":
      break; // the roll call comes with vote.closed, in the same commit
    case "vote.closed": {
      const v = vote(p.vote);
      v.status = "closed";
      v.tally = p.tally;
      v.roll_call = p.roll_call;
      v.voted = Object.values(p.roll_call).filter((line) => ["for", "against", "abstain", "voted"].includes(line)).length;
      break;
    }
    case "vote.cancelled":
      Object.assign(vote(p.vote), { status: "cancelled", reason: p.reason });
      break;
    case "broadcast.started":
      state.broadcast = { status: "live", source: p.source, started_at: event.at, reason: null };
      break;
    case "broadcast.resumed":
    case "broadcast.interrupted":
    case "broadcast.stopped": {
      const status = { "broadcast.resumed": "live", "broadcast.interrupted": "interrupted" }[event.type] ?? "stopped";
      state.broadcast = { ...state.broadcast, status, source: p.source ?? state.broadcast?.source, reason: p.reason ?? null };
      break;
    }
    default:
      break; // later event types do not change what these pages show
  }
  state.composition = composition(state, council);
  // art. 46: more than half of the statutory composition registered (the mayor is not one); a committee's, art. 47
  state.quorum = state.composition.registered_deputies >= state.composition.quorum;
  return state;
}

/**
 * A member's choice in a vote as the log has it (null if the member has not voted, or this page has
 * not seen it): the tablet shows only this, so two of its lines can never disagree.
 */
export function choiceOf(state, voteId, member) {
  return state._choices?.[voteId]?.[member] ?? null;
}

/**
 * A member's own ballot in a sealed vote, as the server acknowledged it (its `seq`): the log will not say
 * the choice until the close, but the tablet that cast it knows it.
 */
export function rememberOwnBallot(state, voteId, member, choice, seq) {
  const known = state._ballotSeq?.[voteId]?.[member];
  if (known !== undefined && known !== null && known > seq) return; // a later ballot came from elsewhere
  (state._choices[voteId] ??= {})[member] = choice;
  (state._ballotSeq[voteId] ??= {})[member] = seq;
}

/** The seq of a member's last ballot in a vote, as far as this page has seen it (else null). */
export function ballotSeqOf(state, voteId, member) {
  return state._ballotSeq?.[voteId]?.[member] ?? null;
}

/** How many signed ballots of a member a vote has accepted: the index of the member's next nonce. */
export function signedCountOf(state, voteId, member) {
  return state._signed?.[voteId]?.[member] ?? 0;
}

/** The vote now open, if any. */
export function openVote(state) {
  return state.votes.findLast((v) => v.status === "open") ?? null;
}

/**
 * The vote the screens show: the open one, else the latest while its item is still being considered
 * (or no other item has started since) — never an earlier item's result under a new item.
 */
export function shownVote(state) {
  const open = openVote(state);
  if (open) return open;
  const last = state.votes.at(-1);
  if (!last) return null;
  return !state.current_item || state.current_item === last.item ? last : null;
}

/** Whole seconds until an RFC 3339 time (never below 0). */
export function secondsUntil(time, now = Date.now()) {
  return Math.max(0, Math.ceil((Date.parse(time) - now) / 1000));
}

/** `m:ss` for a number of seconds. */
export function clock(seconds) {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}
