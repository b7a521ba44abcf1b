// The dashboard's one way to the hub's API: a short-lived bearer from the signed-in session
// (`GET /admin/host-admin-token`, cookie credentials), JSON in and out, and a typed failure.
// Unauthenticated answers send the browser to the sign-in page with a way back.
import type { ErrorBody, HostAdminToken, MeAnswer } from "./protocol";

/** A refused or failed request, with the hub's `error` code and its human sentence. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  /** The whole error body (some refusals carry more, e.g. exposure's `lines`). */
  readonly details: Record<string, unknown>;
  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The bearer the SPA holds in memory (never in storage). */
interface HeldToken {
  token: string;
  expiresAtMs: number;
}

let held: HeldToken | null = null;
let pending: Promise<HeldToken> | null = null;

/** Renew this long before the bearer lapses. */
const RENEW_MARGIN_MS = 60_000;

/** Where the browser goes when it is not signed in (a function so tests can observe it). */
export const navigation = {
  toLogin(): void {
    const back = window.location.pathname + window.location.search;
    window.location.assign(`/login?return_to=${encodeURIComponent(back)}`);
  },
  toAccount(): void {
    window.location.assign("/account/");
  },
};

/** Forget the held bearer (sign-out, or a 401 from the API). */
export function forgetToken(): void {
  held = null;
  pending = null;
}

async function failureFrom(res: Response): Promise<ApiFailure> {
  let body: Partial<ErrorBody> & { message?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page, a crash): the status line is all there is.
  }
  const message = body.error_description ?? body.message ?? `${res.status} ${res.statusText}`;
  return new ApiFailure(res.status, body.error ?? `http_${res.status}`, message, body);
}

async function mint(): Promise<HeldToken> {
  const res = await fetch("/admin/host-admin-token", {
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  if (res.status === 401) {
    navigation.toLogin();
    throw new ApiFailure(401, "unauthenticated", "Not signed in: taking you to the sign-in page.");
  }
  if (res.status === 403) {
    navigation.toAccount();
    throw new ApiFailure(403, "not_admin", "This account is not the hub's admin.");
  }
  if (!res.ok) throw await failureFrom(res);
  const body = (await res.json()) as Omit<HostAdminToken, "expires_at"> & {
    expires_at: number | string;
  };
  const raw = typeof body.expires_at === "string" ? Date.parse(body.expires_at) : body.expires_at;
  // Seconds since the epoch (the original's shape) or milliseconds.
  const expiresAtMs = raw < 1e12 ? raw * 1000 : raw;
  return { token: body.token, expiresAtMs };
}

/** The current bearer, minting a fresh one when none is held or it is about to lapse. */
export async function bearer(): Promise<string> {
  if (held && held.expiresAtMs - Date.now() > RENEW_MARGIN_MS) return held.token;
  if (!pending) {
    pending = mint()
      .then((t) => {
        held = t;
        return t;
      })
      .finally(() => {
        pending = null;
      });
  }
  return (await pending).token;
}

/** A request with the bearer; throws [`ApiFailure`] on any non-2xx answer. */
export async function authedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await bearer();
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  if (!headers.has("accept")) headers.set("accept", "application/json");
  const res = await fetch(path, { ...init, headers, credentials: "same-origin" });
  if (res.status === 401) {
    forgetToken();
    throw await failureFrom(res);
  }
  if (!res.ok) throw await failureFrom(res);
  return res;
}

/** GET (or any method) returning the parsed JSON answer. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await authedFetch(path, init);
  return (await res.json()) as T;
}

/** A JSON request body with its content type. */
export function send<B>(method: string, body?: B): RequestInit {
  return body === undefined
    ? { method }
    : { method, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

/** Who is signed in (`GET /api/me`, by the session cookie; no bearer needed). */
export async function me(): Promise<MeAnswer> {
  const res = await fetch("/api/me", {
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  if (!res.ok) throw await failureFrom(res);
  return (await res.json()) as MeAnswer;
}
