// First-run setup over the hub's JSON form of the wizard (the same requests the original's
// `parachute setup-wizard` verb makes): the state envelope, then one POST per step carrying
// the double-submit CSRF token.
import { ApiFailure } from "./client";
import type { SetupAnswer, SetupState } from "./protocol";

export const CSRF_FIELD = "__csrf";

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const message = String(body.message ?? body.error_description ?? `${res.status}`);
    throw new ApiFailure(res.status, String(body.error ?? res.status), message, body);
  }
  return body as T;
}

export async function setupState(): Promise<SetupState> {
  const res = await fetch("/admin/setup", {
    headers: { accept: "application/json" },
    credentials: "same-origin",
    redirect: "manual",
  });
  return answer<SetupState>(res);
}

export async function setupStep(
  step: "account" | "vault" | "expose",
  csrf: string,
  fields: Record<string, string>,
): Promise<SetupAnswer> {
  const res = await fetch(`/admin/setup/${step}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({ [CSRF_FIELD]: csrf, ...fields }),
  });
  return answer<SetupAnswer>(res);
}
