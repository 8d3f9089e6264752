// Drives web/secret-ballot.js under node for tests/test_secret_ballot_js.py: `node secret_ballot_driver.mjs
// STEP` reads the step's input as JSON on stdin and writes its output as JSON on stdout. A member's secret
// crosses steps as `saveSecret` keeps it on a tablet.
import { readFileSync } from "node:fs";
import * as sb from "../web/secret-ballot.js";
import { checkBeforeDecrypting } from "../web/secret-log.js";

const input = JSON.parse(readFileSync(0, "utf8"));
const steps = {
  commit: ({ context, members, threshold }) =>
    members.map((index) => {
      const { secret, published } = sb.commit(context, index, threshold);
      return { saved: sb.saveSecret(secret), published };
    }),
  deal: ({ context, saved, published, threshold }) => {
    const commitments = published.map((p) => sb.checkCommitment(context, p, threshold));
    return saved.map((s) => sb.deal(context, sb.loadSecret(s), commitments));
  },
  receive: ({ context, saved, published, threshold, deals }) => {
    const commitments = published.map((p) => sb.checkCommitment(context, p, threshold));
    return saved.map((s) => {
      const secret = sb.loadSecret(s);
      const bad = sb.receive(context, secret, commitments, deals);
      return { bad, saved: sb.saveSecret(secret), ready: bad.length ? null : sb.ready(context, secret), key: sb.electionKey(commitments) };
    });
  },
  checkReady: ({ context, published, threshold, ready }) => {
    const commitments = published.map((p) => sb.checkCommitment(context, p, threshold));
    return ready.map((r) => sb.checkReady(context, commitments, r));
  },
  encrypt: ({ key, context, ballots }) => ballots.map(({ deputy, choice }) => sb.encryptBallot(key, choice, context, deputy)),
  partial: ({ saved, product, context }) => sb.partialDecryption(sb.loadSecret(saved), product, context),
  product: ({ ballots }) => sb.productOf(ballots),
  // a commission member's check before decrypting, against a log served as given (a lying server injected)
  guard: async ({ council, session, vote, events }) => {
    globalThis.fetch = async () => ({ json: async () => ({ head: events.at(-1)?.seq ?? 0, events }) });
    return checkBeforeDecrypting(sb, council, session, vote);
  },
};
process.stdout.write(JSON.stringify(await steps[process.argv[2]](input)));
