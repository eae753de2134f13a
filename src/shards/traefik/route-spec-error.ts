/** A create_route request that cannot become a route; the message says what to change. */
export class RouteSpecError extends Error {
  override name = "RouteSpecError";
}
