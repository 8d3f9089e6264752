/**
 * The page «Перевірити свій голос» (`/receipt`), in Ukrainian and English: every text it shows.
 *
 * @module receipt-strings
 */

export const STRINGS = {
  uk: {
    lang: "uk",
    title: "Kvorum — перевірити свій голос",
    heading: "Перевірити свій голос",
    otherLang: "English",
    intro:
      "Після кожного голосування планшет депутата зберігає квитанцію свого голосу: запис журналу засідання з доказом, що він є в журналі, підписаним радою і засвідченим незалежними свідками. Тут квитанцію перевіряють за журналом, який рада публікує зараз: чи голос досі в журналі і чи журнал відтоді лише доповнювався.",
    fileLabel: "Файл квитанції (kvorum-receipt-….json)",
    keptTitle: "Квитанції, збережені на цьому пристрої",
    noneKept: "На цьому пристрої квитанцій немає.",
    keptLine: "Засідання {session}, запис № {seq}: {subject}",
    check: "Перевірити",
    checking: "Перевіряємо…",
    fromQr: "Квитанція з QR-коду: засідання {session}, запис № {seq}.",
    ok: "✓ Голос є в журналі засідання {session}: запис № {seq}.",
    okBallot: "Депутат: {deputy}. Голосування: «{subject}»{item}{choice}.",
    okItem: ", питання {number}",
    okChoice: "; голос «{choice}»",
    okExtends: "Журнал, який рада публікує зараз (записів: {size}), є продовженням того, що бачив планшет (записів: {seen}): доказ узгодженості сходиться.",
    okWitnesses: "Підписів свідків на поточному журналі: {count} ({names}); рада вимагає: {needed}.",
    noWitnesses: "Рада не призначила свідків: журнал підписано лише ключем ради.",
    fewWitnesses: "Увага: на поточному журналі лише {count} підписів свідків із потрібних {needed}. Спробуйте ще раз за кілька хвилин.",
    notReceipt: "Це не файл квитанції Kvorum.",
    badCheckpoint: "Увага: контрольну точку квитанції не підписано ключем ради. Квитанція підроблена або пошкоджена.",
    badProof: "Увага: доказ включення в квитанції не сходиться. Квитанція підроблена або пошкоджена.",
    notExtended:
      "Увага: журнал, який рада публікує зараз, не є продовженням того, що бачив планшет. Історію засідання змінено. Збережіть квитанцію і повідомте про це.",
    missing: "Увага: у журналі, який рада публікує зараз, під цим записом іншого голосу немає або він інший. Збережіть квитанцію і повідомте про це.",
    unreachable: "Не вдалося отримати журнал засідання з сервера. Перевірте зв'язок і спробуйте ще раз.",
    for: "за",
    against: "проти",
    abstain: "утримуюся",
  },
  en: {
    lang: "en",
    title: "Kvorum — check your vote",
    heading: "Check your vote",
    otherLang: "Українська",
    intro:
      "After each vote a deputy's tablet keeps a receipt of the ballot: the sitting's ledger entry with a proof that it is in the ledger, signed by the council and cosigned by independent witnesses. Here a receipt is checked against the ledger the council publishes now: is the ballot still in it, and has the ledger only grown since.",
    fileLabel: "Receipt file (kvorum-receipt-….json)",
    keptTitle: "Receipts kept on this device",
    noneKept: "No receipts are kept on this device.",
    keptLine: "Sitting {session}, entry no. {seq}: {subject}",
    check: "Check",
    checking: "Checking…",
    fromQr: "Receipt from a QR code: sitting {session}, entry no. {seq}.",
    ok: "✓ The ballot is in the ledger of sitting {session}: entry no. {seq}.",
    okBallot: "Deputy: {deputy}. Vote: “{subject}”{item}{choice}.",
    okItem: ", item {number}",
    okChoice: "; ballot “{choice}”",
    okExtends: "The ledger the council publishes now ({size} entries) extends the one the tablet saw ({seen} entries): the consistency proof holds.",
    okWitnesses: "Witness cosignatures on the current ledger: {count} ({names}); the council requires {needed}.",
    noWitnesses: "The council has named no witnesses: the ledger is signed by the council's key only.",
    fewWitnesses: "Warning: the current ledger has only {count} of the {needed} witness cosignatures needed. Try again in a few minutes.",
    notReceipt: "This is not a Kvorum receipt file.",
    badCheckpoint: "Warning: the receipt's checkpoint is not signed by the council's key. The receipt is forged or damaged.",
    badProof: "Warning: the receipt's inclusion proof does not hold. The receipt is forged or damaged.",
    notExtended:
      "Warning: the ledger the council publishes now does not extend the one the tablet saw. The sitting's history was changed. Keep the receipt and report it.",
    missing: "Warning: the ledger the council publishes now holds no such ballot at this entry, or another one. Keep the receipt and report it.",
    unreachable: "Could not fetch the sitting's ledger from the server. Check the connection and try again.",
    for: "for",
    against: "against",
    abstain: "abstain",
  },
};

/** The text of `key` with `{name}` placeholders filled from `params`. */
export function format(catalogue, key, params = {}) {
  return catalogue[key].replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}
