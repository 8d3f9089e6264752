/**
 * The administrator's view of what Kvorum keeps (`GET /api/v1/storage`): each kind of record, how many, how
 * big, the oldest, and the day until which the oldest must be kept; the database's size and the disks' free
 * space. Nothing here deletes anything: Kvorum never does.
 *
 * @module console-storage
 */

import { reportBeside } from "./dialog.js";
import { count, longDate } from "./ukrainian.js";

const $ = (id) => document.getElementById(id);

const YEARS = {
  uk: { one: "рік", few: "роки", many: "років", other: "року" },
  en: { one: "year", other: "years" },
};

const UNITS = { uk: ["Б", "КБ", "МБ", "ГБ", "ТБ"], en: ["B", "KB", "MB", "GB", "TB"] };

/** A size as people read it: «23,4 МБ», "23.4 MB". */
export function size(lang, bytes) {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.en.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = value.toLocaleString(lang === "uk" ? "uk-UA" : "en-GB", { maximumFractionDigits: digits });
  return `${number} ${UNITS[lang][unit]}`;
}

/**
 * @param {{api: Function, t: Function, report: (control: Element, error: any) => void, view: {lang: string}}} page
 */
export function storagePanel({ api, t, report, view }) {
  const number = (n) => n.toLocaleString(view.lang === "uk" ? "uk-UA" : "en-GB");

  function what(holding) {
    const known = t(`kept_${holding.kind}`);
    return known === `kept_${holding.kind}` ? t("keptOther", { kind: holding.kind }) : known;
  }

  function howMany(holding) {
    const key = `keptCount_${holding.kind}`;
    const line = t(key, { count: number(holding.count), items: number(holding.items ?? 0) });
    return line === key ? number(holding.count) : line;
  }

  function row(holding) {
    const tr = document.createElement("tr");
    tr.dataset.kind = holding.kind;
    const cells = [
      what(holding),
      howMany(holding),
      size(view.lang, holding.bytes),
      holding.oldest ? longDate(view.lang, holding.oldest) : "—",
      holding.kept_until ? longDate(view.lang, holding.kept_until) : "—",
    ];
    tr.append(
      ...cells.map((text, i) => {
        const cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row";
        cell.textContent = text;
        return cell;
      }),
    );
    return tr;
  }

  let kept = null;

  async function reload(fresh = false) {
    try {
      kept = await api(fresh ? "/storage?fresh=1" : "/storage");
    } catch (error) {
      report($("storage-refresh"), error);
      return;
    }
    reportBeside($("storage-refresh"), ""); // a refusal shown before no longer stands
    render();
  }

  /** Draw the last answer again (in the language now chosen). */
  function render() {
    if (!kept) return;
    $("storage-policy").textContent = t("keptPolicy", { years: count(view.lang, kept.retention_years, YEARS[view.lang]) });
    $("storage-rows").replaceChildren(...kept.holdings.map(row));
    const at = new Date(kept.measured_at).toLocaleTimeString(view.lang === "uk" ? "uk-UA" : "en-GB", {
      hour: "2-digit",
      minute: "2-digit",
    });
    $("storage-database").textContent = t("keptDatabase", { size: size(view.lang, kept.database_bytes), at });
    $("storage-disks").replaceChildren(
      ...kept.disks.map((disk) => {
        const li = document.createElement("li");
        const low = disk.free < disk.total * 0.1; // the alert rule in deploy/prometheus fires at the same tenth
        li.textContent = t(low ? "keptDiskLow" : "keptDisk", {
          path: disk.path,
          free: size(view.lang, disk.free),
          total: size(view.lang, disk.total),
        });
        if (low) li.className = "bad";
        return li;
      }),
    );
  }

  $("storage-refresh").addEventListener("click", () => reload(true));
  return { reload, render };
}
