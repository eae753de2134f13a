import { describe, expect, it } from "vitest";
import { growthSetByUser, OLD_SPACE_GROWTH_FLAG } from "../../src/operator/thread.ts";

describe("the operator's heap sizing", () => {
  it("bounds the old space's growth unless the user set it (node flags or NODE_OPTIONS)", () => {
    expect(OLD_SPACE_GROWTH_FLAG).toBe("--heap-growing-percent=25");
    expect(growthSetByUser([])).toBe(false);
    expect(growthSetByUser(["--max-semi-space-size=8", "--enable-source-maps"])).toBe(false);
    expect(growthSetByUser(["--heap-growing-percent=50"])).toBe(true);
    expect(growthSetByUser(["--heap_growing_percent=100"])).toBe(true);
  });
});
