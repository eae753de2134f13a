import { Refusal } from "./refusal.ts";

/** A create_route request that cannot become a route; the message says what to change. */
export class RouteSpecError extends Refusal {
  override name = "RouteSpecError";
}
