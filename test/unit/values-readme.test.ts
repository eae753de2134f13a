import { describe, expect, it } from "vitest";
import { valueDocs, withValuesTable, BEGIN, END } from "../../hack/values-readme.ts";

const values = `# A section note, not a description.
# -- The image.
image:
  # -- Repository, with a | in it.
  repository: ghcr.io/x/y
  tag: ""

gateway:
  # -- Seconds the gateway keeps serving,
  # continued on a second line.
  delaySeconds: 5
  # -- Origins.
  allowedOrigins: []
`;

describe("chart values README (helm-docs style)", () => {
  it("documents the keys with a # -- comment, with multi-line descriptions, types and defaults", () => {
    expect(valueDocs(values)).toEqual([
      {
        key: "image",
        type: "object",
        default: '{"repository":"ghcr.io/x/y","tag":""}',
        description: "The image.",
      },
      {
        key: "image.repository",
        type: "string",
        default: '"ghcr.io/x/y"',
        description: "Repository, with a | in it.",
      },
      {
        key: "gateway.delaySeconds",
        type: "int",
        default: "5",
        description: "Seconds the gateway keeps serving, continued on a second line.",
      },
      { key: "gateway.allowedOrigins", type: "list", default: "[]", description: "Origins." },
    ]);
  });

  it("replaces only the block between the markers, escaping table pipes", () => {
    const readme = `# Chart\nhand-written\n${BEGIN}\nold\n${END}\nmore\n`;
    const out = withValuesTable(readme, values);
    expect(out.startsWith(`# Chart\nhand-written\n${BEGIN}\n\n| Key |`)).toBe(true);
    expect(out).toContain(
      '| `image.repository` | string | `"ghcr.io/x/y"` | Repository, with a \\| in it. |',
    );
    expect(out.endsWith(`${END}\nmore\n`)).toBe(true);
    expect(() => withValuesTable("no markers", values)).toThrow(/needs the markers/);
  });
});
