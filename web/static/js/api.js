// @ts-check
// JSON calls to the server's HTTP API (same origin; the session cookie authenticates).

const TIMEOUT_MS = 10000;

/** An HTTP error with the status and the server's human-readable `detail`. */
export class ApiError extends Error {
  /**
   * @param {number} status  the HTTP status, 0 when the server could not be reached
   * @param {string} detail
   */
  constructor(status, detail) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * @param {any} data  the error body, if it was JSON
 * @param {number} status
 */
function describe(data, status) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return "Please check the form: some values are not valid.";
  if (status === 0) return "The server could not be reached. Check your connection.";
  return `The server answered with an error (${status}).`;
}

/**
 * Call the API; resolve with the parsed JSON body (or null), or reject with ApiError.
 * `timeoutMs` is for the few calls that may take longer than usual.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, timeoutMs?: number }} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = "GET", body, timeoutMs = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
  } catch {
    throw new ApiError(0, describe(null, 0));
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, describe(data, response.status));
  return data;
}

/**
/**
 * The RTCPeerConnection configuration for the call of `visitId`: STUN/TURN servers with
 * fresh, short-lived credentials (only for open visits) and the transport policy ("relay"
 * keeps both sides' addresses private). No servers if the call fails: loopback and LAN
 * calls still work without STUN/TURN.
 * @param {string} visitId
 * @returns {Promise<RTCConfiguration>}
 */
export async function fetchRtcConfig(visitId) {
  try {
    const data = await api(`/api/ice?visit=${encodeURIComponent(visitId)}`);
    return {
      iceServers: Array.isArray(data.iceServers) ? data.iceServers : [],
      iceTransportPolicy: data.iceTransportPolicy === "relay" ? "relay" : "all",
    };
  } catch {
    return { iceServers: [] };
  }
}
