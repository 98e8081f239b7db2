// The lint gate: import cycles and real bugs, not style. Rules that would only fight the existing
// code are left off on purpose; `npm run lint` passes --max-warnings=0, so any finding fails it.
import js from "@eslint/js";
import nextPlugin from "@next/eslint-plugin-next";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import { importX } from "eslint-plugin-import-x";
import globals from "globals";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

const unusedVars = [
  "error",
  {
    args: "after-used",
    argsIgnorePattern: "^_",
    varsIgnorePattern: "^_",
    caughtErrors: "none",
    destructuredArrayIgnorePattern: "^_",
    ignoreRestSiblings: true,
  },
];

export default defineConfig(
  globalIgnores([
    "src/generated/**",
    ".next/**",
    "node_modules/**",
    "next-env.d.ts",
    "test-results/**",
    "playwright-report/**",
    "bench/results/**",
    "bench/peers/*/.next/**",
    "bench/peers/*/next-env.d.ts",
  ]),

  { linterOptions: { reportUnusedDisableDirectives: "error" } },

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    files: ["**/*.{ts,tsx,mts,cts,js,mjs,cjs}"],
    plugins: { "import-x": importX },
    settings: {
      // Without these, import-x only follows .js files and silently sees no cycle between .ts modules.
      "import-x/extensions": importX.flatConfigs.typescript.settings["import-x/extensions"],
      "import-x/parsers": importX.flatConfigs.typescript.settings["import-x/parsers"],
      "import-x/external-module-folders": importX.flatConfigs.typescript.settings["import-x/external-module-folders"],
      // Resolves the `~/*` path alias from tsconfig.json, so cycles through aliased imports are seen too.
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "./tsconfig.json" })],
    },
    rules: {
      // Cycles through `import type` are erased at compile time and cannot cause a run-time
      // initialisation-order bug, so they are allowed; value imports in a circle are errors.
      "import-x/no-cycle": ["error", { ignoreExternal: true, allowUnsafeDynamicCyclicDependency: false }],
      "import-x/no-self-import": "error",
      "no-unused-vars": "off",
      "@typescript-eslint/no-unused-vars": unusedVars,
    },
  },

  {
    // Type-aware rules that catch real async bugs: a promise nobody awaits or handles, a promise
    // passed where a boolean or a void callback is expected, awaiting something that is not thenable.
    files: ["**/*.{ts,tsx,mts,cts}"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
    },
  },

  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "@next/next": nextPlugin },
    rules: { ...nextPlugin.configs.recommended.rules, ...nextPlugin.configs["core-web-vitals"].rules },
  },

  {
    // Browser code takes only types from the live-event schemas: constructing zod schemas probes
    // `new Function`, a violation of the app's CSP (script-src without 'unsafe-eval').
    files: ["src/components/**/*.{ts,tsx}", "src/app/**/*.tsx", "src/trpc/react.tsx"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { paths: [{ name: "~/lib/live-events", allowTypeImports: true, message: "Import types only here; value helpers live in ~/lib/live-event-guards." }] },
      ],
    },
  },

  {
    // Plain Node scripts (CLI example, config files).
    files: ["**/*.{js,mjs,cjs}"],
    languageOptions: { globals: globals.node },
  },
);
