/**
 * The shardgate console: sign-in, then Shards (admins), Tools and Activity,
 * switched by the URL hash. Live data comes from /ui/events (server-sent
 * events); everything else from the admin API with the cookie session.
 */
import { api, ApiError, useSession, whenSignedOut, type Session } from "./api.ts";
import { clear, h } from "./dom.ts";
import { activityView } from "./views/activity.ts";
import { shardsView } from "./views/shards.ts";
import { toolsView } from "./views/tools.ts";

export interface View {
  readonly element: HTMLElement;
  /** A server-sent event arrived. */
  onEvent?(type: string, data: unknown): void;
}

export interface AppContext {
  readonly session: Session;
  /** Shows a short message in the status bar. */
  notify(message: string, kind?: "info" | "error"): void;
}

const root = document.getElementById("app")!;

/** The provider's button: a plain link, the sign-in is a top-level redirect to the provider. */
function providerSignIn(provider: Session["provider"]): HTMLElement | null {
  if (!provider) return null;
  return h(
    "div",
    { class: "provider" },
    h(
      "a",
      { class: "button", id: "signin-provider", href: provider.signInUrl },
      `Sign in with ${provider.name}`,
    ),
    h("p", { class: "or" }, "or with an API key"),
  );
}

function signInView(message?: string, provider?: Session["provider"]): HTMLElement {
  const input = h("input", {
    type: "password",
    name: "key",
    id: "key",
    autocomplete: "current-password",
    required: true,
  });
  const error = h("p", { class: "error", role: "alert" }, message ?? "");
  const form = h(
    "form",
    {
      class: "signin",
      onsubmit: (event: Event) => {
        event.preventDefault();
        api<Session>("POST", "/ui/session", { key: input.value }).then(
          () => void start(),
          (e: unknown) => clear(error, e instanceof Error ? e.message : String(e)),
        );
      },
    },
    h("h1", {}, "shardgate"),
    providerSignIn(provider),
    h("label", { for: "key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Sign in"),
    error,
    h("p", { class: "hint" }, "The key is kept in an HttpOnly cookie for this site only."),
  );
  return form;
}

const ENDED = "Your sign-in has ended (it expired, or you signed out elsewhere). Sign in again.";

async function start(message?: string): Promise<void> {
  const session = await api<Session>("GET", "/ui/session");
  if (!session.signedIn) {
    clear(root, signInView(message, session.provider));
    return;
  }
  useSession(session);
  const status = h("p", { class: "status", role: "status" });
  const ctx: AppContext = {
    session,
    notify(message, kind = "info") {
      clear(status, message);
      status.className = `status ${kind}`;
    },
  };
  const tabs = [
    ...(session.admin ? [["shards", "Shards"]] : []),
    ["tools", "Tools"],
    ["activity", "Activity"],
  ] as [string, string][];
  const nav = h(
    "nav",
    {},
    tabs.map(([id, label]) => h("a", { href: `#/${id}`, id: `tab-${id}` }, label)),
    h(
      "span",
      {
        class: "who",
        title: session.user ? `groups: ${session.user.groups.join(", ") || "none"}` : undefined,
      },
      session.user?.name ?? session.user?.email ?? session.id,
      session.admin ? " (admin)" : "",
    ),
    session.authRequired
      ? h(
          "button",
          {
            class: "link",
            id: "signout",
            // Signed in with the provider: on to its logout, which comes back to /ui.
            onclick: () =>
              void api<{ logoutUrl?: string } | undefined>("DELETE", "/ui/session").then((out) =>
                out?.logoutUrl ? location.assign(out.logoutUrl) : location.reload(),
              ),
          },
          "Sign out",
        )
      : null,
  );
  const content = h("section", { id: "view" });
  clear(root, h("header", {}, h("strong", {}, "shardgate"), nav), status, content);

  let current: View | undefined;
  const route = () => {
    const wanted = location.hash.replace(/^#\//, "") || tabs[0]![0];
    const id = tabs.some(([t]) => t === wanted) ? wanted : tabs[0]![0];
    for (const [t] of tabs) document.getElementById(`tab-${t}`)?.classList.toggle("active", t === id);
    current = id === "shards" ? shardsView(ctx) : id === "tools" ? toolsView(ctx) : activityView(ctx);
    clear(content, current.element);
  };
  window.addEventListener("hashchange", route);
  route();

  const events = new EventSource("/ui/events");
  for (const type of ["shards", "tools", "activity"]) {
    events.addEventListener(type, (event) =>
      current?.onEvent?.(type, JSON.parse((event as MessageEvent<string>).data)),
    );
  }
  events.addEventListener("open", () => document.body.classList.add("live"));
  events.addEventListener("error", () => document.body.classList.remove("live"));

  // The session ends with the provider's ID token: back to the sign-in page then, or on any 401.
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    events.close();
    window.removeEventListener("hashchange", route);
    whenSignedOut(undefined);
    void start(ENDED);
  };
  whenSignedOut(end);
  if (session.expiresAt) {
    const ms = Math.min(Date.parse(session.expiresAt) - Date.now() + 1000, 2 ** 31 - 1);
    setTimeout(() => void api<Session>("GET", "/ui/session").then((s) => s.signedIn || end()), ms);
  }
}

start().catch((error: unknown) => {
  if (error instanceof ApiError && error.status === 401)
    clear(root, signInView("Your sign-in is no longer valid."));
  else clear(root, h("p", { class: "error" }, `The console could not start: ${String(error)}`));
});
