// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The arrows between layers that must never exist (ARCHITECTURE.md): the
 * gateway and the operator meet only through the API; shards stand below
 * both; the API imports nothing of shardgate's. An import goes up (`../`) and
 * into the folder; the regex matches the specifier as written.
 */
const FORBIDDEN = [
  { from: "src/gateway/**", to: ["operator"], why: "the gateway and the operator meet only through src/api" },
  { from: "src/operator/**", to: ["gateway"], why: "the gateway and the operator meet only through src/api" },
  {
    from: "src/shards/**",
    to: ["gateway", "operator"],
    why: "a shard stands below the gateway and the operator",
  },
  {
    from: "src/shard-kit/**",
    to: ["gateway", "operator"],
    why: "a shard stands below the gateway and the operator",
  },
  {
    from: "src/bridge/**",
    to: ["gateway", "operator"],
    why: "the bridge is a shard: below the gateway and the operator",
  },
];

function architectureRules() {
  const rules = FORBIDDEN.map(({ from, to, why }) => ({
    files: [from],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: `^(\\.\\./)+(${to.join("|")})(/|\\.ts$)`, message: `${why} (eslint.config.js)` },
          ],
        },
      ],
    },
  }));
  // The API is the bottom layer: nothing above it, only packages and itself.
  const api = (files, up) => ({
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: `^${up}`,
              message: "src/api imports nothing of shardgate's above it (eslint.config.js)",
            },
          ],
        },
      ],
    },
  });
  return [...rules, api(["src/api/*.ts"], "\\.\\./"), api(["src/api/*/**/*.ts"], "(\\.\\./){2}")];
}

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "charts/",
      "crds/",
      "cdk8s/dist/",
      "coverage/",
      "templates/shard/**",
      "bench/results/",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
    },
  },
  ...architectureRules(),
  {
    // One concern per file: a file over 400 lines says why in its opening
    // comment, as the description of an `eslint-disable max-lines` directive.
    files: ["src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: { "max-lines": ["warn", { max: 400 }] },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tests poke at untyped JSON bodies; asserting on them is their job.
    files: ["test/**/*.ts", "bench/**/*.ts", "**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
