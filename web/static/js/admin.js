// @ts-check
// The admin console: staff accounts (add with a temporary password, disable, enable, reset
// the second factor, sign out everywhere) and the audit log with filters and an export.
// The server serves this page to admins only; every call is checked there again.

import { announce } from "./a11y.js";
import { ApiError, api } from "./api.js";
import { $, make } from "./dom.js";
import { mountSignOut, showSignedIn } from "./staff-header.js";

/**
 * @typedef {{ id: string, email: string, display_name: string, role: string,
 *   active: boolean, must_change_password: boolean }} Staff
 * @typedef {{ id: number, at: string, actor_type: string, actor_id: string | null,
 *   action: string, detail: Record<string, unknown>, client_address: string | null,
 *   outcome: string }} AuditEvent
 */

/** @type {string | null} the signed-in admin's own id (they cannot disable themselves) */
let myId = null;

/** @param {unknown} error */
function message(error) {
  return error instanceof ApiError ? error.message : "Something went wrong. Try again.";
}

/**
 * One action button of a staff row; after it, the list is drawn again.
 * @param {Staff} staff
 * @param {string} action  the API's action name
 * @param {string} label
 * @param {string} done  what the status line says afterwards
 */
function actionButton(staff, action, label, done) {
  const button = make("button", {
    text: label,
    className: "secondary",
    attrs: { type: "button", "aria-label": `${label}: ${staff.display_name}` },
  });
  button.addEventListener("click", async () => {
    $("staff-error").textContent = "";
    try {
      await api(`/api/admin/staff/${encodeURIComponent(staff.id)}/${action}`, {
        method: "POST",
      });
      announce(`${done}: ${staff.display_name}.`);
      await loadStaff();
      await loadAudit();
    } catch (error) {
      $("staff-error").textContent = message(error);
    }
  });
  return button;
}

/** @param {Staff} staff */
function staffRow(staff) {
  const state = staff.active
    ? staff.must_change_password
      ? "Active, must change password"
      : "Active"
    : "Disabled";
  const actions = make("div", { className: "actions" });
  if (staff.id !== myId) {
    actions.append(
      staff.active
        ? actionButton(staff, "disable", "Disable", "Disabled")
        : actionButton(staff, "enable", "Enable", "Enabled"),
    );
  }
  actions.append(
    actionButton(staff, "reset-mfa", "Reset second factor", "Second factor removed"),
    actionButton(staff, "revoke-sessions", "Sign out everywhere", "Signed out everywhere"),
  );
  return make(
    "tr",
    {},
    make("td", { text: staff.display_name }),
    make("td", { text: staff.email }),
    make("td", { text: staff.role === "admin" ? "Admin" : "Clinician" }),
    make("td", { text: state }),
    make("td", {}, actions),
  );
}

async function loadStaff() {
  try {
    const { staff } = /** @type {{ staff: Staff[] }} */ (await api("/api/admin/staff"));
    $("staff-body").replaceChildren(...staff.map(staffRow));
  } catch (error) {
    $("staff-error").textContent = message(error);
  }
}

/** The audit filters as query parameters (local times sent as UTC instants). */
function auditQuery() {
  const form = /** @type {HTMLFormElement} */ ($("audit-form"));
  const query = new URLSearchParams();
  for (const [name, raw] of new FormData(form)) {
    const value = String(raw).trim();
    if (!value) continue;
    query.set(name, name === "since" || name === "until" ? new Date(value).toISOString() : value);
  }
  return query;
}

/** @param {AuditEvent} event */
function auditRow(event) {
  const actor = event.actor_id ? `${event.actor_type} ${event.actor_id}` : event.actor_type;
  return make(
    "tr",
    {},
    make("td", { text: new Date(event.at).toLocaleString() }),
    make("td", { text: event.action }),
    make("td", { text: actor }),
    make("td", { text: event.client_address ?? "" }),
    make("td", { text: event.outcome }),
    make("td", { text: JSON.stringify(event.detail) }),
  );
}

async function loadAudit() {
  const query = auditQuery();
  /** @type {HTMLAnchorElement} */ ($("audit-export")).href =
    `/api/admin/audit/export?${query}`;
  $("audit-error").textContent = "";
  try {
    const { events } = /** @type {{ events: AuditEvent[] }} */ (
      await api(`/api/admin/audit?${query}`)
    );
    $("audit-body").replaceChildren(...events.map(auditRow));
    $("no-events").hidden = events.length > 0;
    return events.length;
  } catch (error) {
    $("audit-error").textContent = message(error);
    return 0;
  }
}

async function createStaff(/** @type {SubmitEvent} */ submitted) {
  submitted.preventDefault();
  const form = /** @type {HTMLFormElement} */ (submitted.target);
  const body = Object.fromEntries(new FormData(form));
  $("create-error").textContent = "";
  try {
    await api("/api/admin/staff", { method: "POST", body });
    form.reset();
    announce(`Added ${String(body.display_name)}. They change the password at first sign-in.`);
    await loadStaff();
    await loadAudit();
  } catch (error) {
    $("create-error").textContent = message(error);
    /** @type {HTMLInputElement} */ ($("new-name")).focus();
  }
}

async function start() {
  mountSignOut(() => window.location.assign("/clinician"));
  const me = await api("/api/auth/me");
  myId = me.id;
  showSignedIn(me);
  $("create-form").addEventListener("submit", createStaff);
  $("audit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const shown = await loadAudit();
    announce(shown === 1 ? "1 event shown." : `${shown} events shown.`);
  });
  await loadStaff();
  await loadAudit();
}

start().catch(() => window.location.assign("/clinician"));
