/** Same-origin calls to the admin API: the key rides in the HttpOnly cookie, the CSRF token in a header. */
export interface Session {
  signedIn: boolean;
  id: string;
  admin: boolean;
  authRequired: boolean;
  csrf: string;
  /** How this browser signed in. */
  via?: "key" | "provider" | "none";
  /** Signed in with the provider: who. */
  user?: { subject: string; name?: string; email?: string; groups: string[] };
  /** The gateway offers a provider sign-in. */
  provider?: { name: string; signInUrl: string };
  /** When a provider session ends (the ID token's expiry). */
  expiresAt?: string;
}

let csrf = "";
let signedOut: (() => void) | undefined;

/** Called when an API call answers 401: the session expired or was ended elsewhere. */
export function whenSignedOut(handler: (() => void) | undefined): void {
  signedOut = handler;
}

export function useSession(session: Session): void {
  csrf = session.csrf;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await response.text();
  const data: unknown = text ? JSON.parse(text) : undefined;
  if (response.status === 401 && path !== "/ui/session") signedOut?.();
  if (!response.ok) {
    const message =
      (data as { error?: string } | undefined)?.error ?? `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return data as T;
}
