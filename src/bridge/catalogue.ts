import type { InitializeResult } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../log.ts";
import {
  EMPTY_CATALOGUE,
  advertises,
  fetchList,
  type Catalogue,
  type ListKind,
  type ListRequest,
} from "./lists.ts";

/**
 * The child's lists as last fetched (after each start and on `list_changed`),
 * for /manifest. Each refresh of a list is numbered, so a slow, older refresh
 * (or one of an earlier process) never overwrites a newer one.
 */
export class CatalogueCache {
  #catalogue: Catalogue = EMPTY_CATALOGUE;
  readonly #refreshes: Record<ListKind, number> = {
    tools: 0,
    resources: 0,
    resourceTemplates: 0,
    prompts: 0,
  };
  readonly #request: ListRequest;
  readonly #logger: Logger;

  constructor(request: ListRequest, logger: Logger) {
    this.#request = request;
    this.#logger = logger;
  }

  get current(): Catalogue {
    return this.#catalogue;
  }

  /** Refetches `kinds`; `stillCurrent` says whether the process asked is still the one running. */
  async refresh(
    init: InitializeResult | undefined,
    kinds: readonly ListKind[],
    stillCurrent: () => boolean,
  ): Promise<void> {
    await Promise.all(kinds.map((kind) => this.#refreshOne(init, kind, stillCurrent)));
  }

  async #refreshOne(init: InitializeResult | undefined, kind: ListKind, stillCurrent: () => boolean) {
    const refresh = ++this.#refreshes[kind];
    if (!init || !advertises(init.capabilities, kind)) {
      this.#catalogue = { ...this.#catalogue, [kind]: [] };
      return;
    }
    const outcome = await fetchList(this.#request, kind);
    if (!stillCurrent() || refresh !== this.#refreshes[kind]) return;
    if ("error" in outcome) {
      this.#logger.warn({ error: outcome.error, list: kind }, "could not list the stdio server's entries");
      return;
    }
    if (outcome.invalid > 0) {
      this.#logger.warn({ list: kind, invalid: outcome.invalid }, "ignoring entries that are not valid MCP");
    }
    this.#catalogue = { ...this.#catalogue, [kind]: outcome.items };
  }
}
