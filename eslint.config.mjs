import effectPlugin from "@effect/eslint-plugin"
import js from "@eslint/js"
import sortDestructureKeys from "eslint-plugin-sort-destructure-keys"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/build/**", "**/node_modules/**", "**/*.md"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: {
      "@effect": effectPlugin,
      "sort-destructure-keys": sortDestructureKeys
    },
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: 2022,
      sourceType: "module"
    },
    rules: {
      "no-fallthrough": "off",
      "no-irregular-whitespace": "off",
      "object-shorthand": "error",
      "prefer-destructuring": "off",
      "sort-imports": "off",
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
        message: "Do not use spread arguments in Array.push"
      }],
      "no-unused-vars": "off",
      "prefer-rest-params": "off",
      "prefer-spread": "off",
      "sort-destructure-keys/sort-destructure-keys": "error",
      "@typescript-eslint/array-type": ["error", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/ban-ts-comment": "off",
      "@effect/dprint": ["error", {
        config: {
          indentWidth: 2,
          lineWidth: 120,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }]
    }
  },
  {
    files: ["src/**/*.ts", "services/**/*.ts", "test/**/*.ts"],
    rules: {
      "no-console": "error"
    }
  },
  {
    // The engine uses Effect through its public API only: no private runtime fields, no writes to the fiber's
    // context or interruption state, no fiber internals (a fiber per task is what keeps tasks apart).
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": ["error", {
        selector: "CallExpression[callee.property.name='push'] > SpreadElement.arguments",
        message: "Do not use spread arguments in Array.push"
      }, {
        selector: "MemberExpression[property.name=/^_op/]",
        message: "Effect's private runtime fields (_op_layer, _op, ...) are not part of its API"
      }, {
        selector: "MemberExpression[property.name=/^(getChildren|setFiberRef|setFiberRefs|unsafeInterruptAsFork)$/]",
        message: "A fiber's internals are not part of Effect's API: use Fiber and Effect functions"
      }, {
        selector: "MemberExpression[property.name=/^unsafe.*Fiber/], Identifier[name=/^unsafe.*Fiber/]",
        message: "unsafe*Fiber functions reach into the runtime: use Fiber and Effect functions"
      }, {
        selector: "MemberExpression[object.name='FiberRef'][property.name=/^(currentContext|interruptedCause)$/]",
        message: "Provide services with Effect.provide / a Runtime's context; never write a fiber's context or interruption"
      }]
    }
  },
  {
    files: ["src/**/*.ts", "services/**/*.ts"],
    rules: {
      "@effect/no-import-from-barrel-package": ["error", {
        packageNames: ["effect", "@effect/platform", "@effect/ai"]
      }],
      "@typescript-eslint/no-explicit-any": "error"
    }
  }
)
