/**
 * The conformance shard: every tool, resource and prompt the official MCP
 * conformance suite (`@modelcontextprotocol/conformance`) calls on a server,
 * for both protocol eras, written with the shard kit. It exists to prove the
 * kit, `shardgate bridge` and the gateway carry MCP faithfully; the names and
 * texts are the suite's, not ours.
 *
 * Interactive tools are written once in the 2026-07-28 multi-round-trip style
 * (`inputRequired`); 2025-era sessions get real elicitation/sampling/roots
 * requests from the SDK's legacy shim.
 */
/* eslint-disable max-lines -- the conformance suite's whole server surface, listed flat so it reads against the scenarios */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { sleep } from "../../util/index.ts";
import {
  acceptedContent,
  defineShard,
  inputRequired,
  inputResponse,
  prompt,
  resource,
  tool,
  type Shard,
  type ToolContext,
} from "../../shard-kit/index.ts";
import type { ElicitInput } from "./elicitation.ts";
import { ELICIT_SEP1034_DEFAULTS, ELICIT_SEP1330_ENUMS, NAME_FORM } from "./elicitation.ts";

/** 1x1 red PNG and a minimal WAV, as the suite's reference server sends them. */
export const TEST_IMAGE_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
export const TEST_AUDIO_BASE64 = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

const noArgs = z.object({});
const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });

/** One elicitation round: ask with `form`, then report what the user did. */
function elicitTool(
  name: string,
  description: string,
  form: (args: Record<string, unknown>) => ElicitInput,
  done: string,
) {
  return tool({
    name,
    description,
    input:
      name === "test_elicitation"
        ? z.object({ message: z.string().describe("The message to show the user") })
        : noArgs,
    handler: (args, ctx) => {
      const answer = inputResponse(ctx.input.responses, "form");
      if (answer.kind !== "elicit") {
        return inputRequired({ inputRequests: { form: inputRequired.elicit(form(args)) } });
      }
      return text(`${done}: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
    },
  });
}

const simpleTools = [
  tool({
    name: "test_simple_text",
    description: "Tests simple text content response",
    input: noArgs,
    handler: () => "This is a simple text response for testing.",
  }),
  tool({
    name: "test_image_content",
    description: "Tests image content response",
    input: noArgs,
    handler: () => ({ content: [{ type: "image", data: TEST_IMAGE_BASE64, mimeType: "image/png" }] }),
  }),
  tool({
    name: "test_audio_content",
    description: "Tests audio content response",
    input: noArgs,
    handler: () => ({ content: [{ type: "audio", data: TEST_AUDIO_BASE64, mimeType: "audio/wav" }] }),
  }),
  tool({
    name: "test_embedded_resource",
    description: "Tests embedded resource content response",
    input: noArgs,
    handler: () => ({
      content: [
        {
          type: "resource",
          resource: {
            uri: "test://embedded-resource",
            mimeType: "text/plain",
            text: "This is an embedded resource content.",
          },
        },
      ],
    }),
  }),
  tool({
    name: "test_multiple_content_types",
    description: "Tests response with multiple content types (text, image, resource)",
    input: noArgs,
    handler: () => ({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: TEST_IMAGE_BASE64, mimeType: "image/png" },
        {
          type: "resource",
          resource: {
            uri: "test://mixed-content-resource",
            mimeType: "application/json",
            text: JSON.stringify({ test: "data", value: 123 }),
          },
        },
      ],
    }),
  }),
  tool({
    name: "test_tool_with_logging",
    description: "Tests tool that emits log messages during execution",
    input: noArgs,
    handler: async (_args, ctx) => {
      for (const [i, message] of [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
      ].entries()) {
        if (i > 0) await sleep(50);
        await ctx.log("info", message);
      }
      return "Tool with logging executed successfully";
    },
  }),
  tool({
    name: "test_tool_with_progress",
    description: "Tests tool that reports progress notifications",
    input: noArgs,
    handler: async (_args, ctx) => {
      for (const progress of [0, 50, 100]) {
        await ctx.sendProgress(progress, 100, `Completed step ${progress} of 100`);
        if (progress < 100) await sleep(50);
      }
      return "Progress reported";
    },
  }),
  tool({
    name: "test_error_handling",
    description: "Tests error response handling",
    input: noArgs,
    handler: () => {
      throw new Error("This tool intentionally returns an error for testing");
    },
  }),
];

const interactiveTools = [
  tool({
    name: "test_sampling",
    description: "Tests server-initiated sampling (LLM completion request)",
    input: z.object({ prompt: z.string().describe("The prompt to send to the LLM") }),
    handler: ({ prompt: question }, ctx) => {
      const answer = inputResponse(ctx.input.responses, "completion");
      if (answer.kind !== "sampling") {
        return inputRequired({
          inputRequests: {
            completion: inputRequired.createMessage({
              messages: [{ role: "user", content: { type: "text", text: question } }],
              maxTokens: 100,
            }),
          },
        });
      }
      const content = answer.result.content;
      const block = Array.isArray(content) ? content[0] : content;
      return text(`LLM response: ${block?.type === "text" ? block.text : "No response"}`);
    },
  }),
  elicitTool(
    "test_elicitation",
    "Tests server-initiated elicitation (user input request)",
    (args) => ({
      message: String(args.message),
      requestedSchema: {
        type: "object",
        properties: { response: { type: "string", description: "User's response" } },
        required: ["response"],
      },
    }),
    "User response",
  ),
  elicitTool(
    "test_elicitation_sep1034_defaults",
    "Tests elicitation with default values per SEP-1034",
    () => ELICIT_SEP1034_DEFAULTS,
    "Elicitation completed",
  ),
  elicitTool(
    "test_elicitation_sep1330_enums",
    "Tests elicitation with enum schema improvements per SEP-1330",
    () => ELICIT_SEP1330_ENUMS,
    "Elicitation completed",
  ),
];

/** Asks for a name; anything but an accepted name asks again (missing-input, validate-input scenarios). */
function askName(ctx: ToolContext, key: string, message = "What is your name?") {
  const name = acceptedContent<{ name: string }>(ctx.input.responses, key)?.name;
  return typeof name === "string" ? name : inputRequired.elicit({ message, requestedSchema: NAME_FORM });
}

const confirmForm = {
  message: "Please confirm",
  requestedSchema: {
    type: "object" as const,
    properties: { ok: { type: "boolean" as const } },
    required: ["ok"],
  },
};

/**
 * The round both requestState scenarios run: a confirmation that came back
 * with the state this shard sealed (naming `tool`) is answered with `done`;
 * otherwise it asks for the confirmation and seals a fresh state.
 */
async function confirmWithState(ctx: ToolContext, tool: string, done: string) {
  if (acceptedContent(ctx.input.responses, "confirm") !== undefined && ctx.input.state() !== undefined) {
    return text(done);
  }
  return inputRequired({
    inputRequests: { confirm: inputRequired.elicit(confirmForm) },
    requestState: await ctx.input.mintState({ tool, nonce: randomUUID() }),
  });
}

const mrtrTools = [
  tool({
    name: "test_input_required_result_elicitation",
    description: "MRTR (SEP-2322): asks for the caller name via an in-band elicitation request",
    input: noArgs,
    handler: (_args, ctx) => {
      const name = askName(ctx, "user_name");
      return typeof name === "string"
        ? text(`Hello, ${name}!`)
        : inputRequired({ inputRequests: { user_name: name } });
    },
  }),
  tool({
    name: "test_input_required_result_sampling",
    description: "MRTR (SEP-2322): asks for an LLM completion via an in-band sampling request",
    input: noArgs,
    handler: (_args, ctx) => {
      const answer = inputResponse(ctx.input.responses, "capital_question");
      if (answer.kind !== "sampling") {
        return inputRequired({
          inputRequests: {
            capital_question: inputRequired.createMessage({
              messages: [{ role: "user", content: { type: "text", text: "What is the capital of France?" } }],
              maxTokens: 100,
            }),
          },
        });
      }
      const content = answer.result.content;
      const block = Array.isArray(content) ? content[0] : content;
      return text(
        `Sampling response: ${block?.type === "text" ? block.text : JSON.stringify(answer.result)}`,
      );
    },
  }),
  tool({
    name: "test_input_required_result_list_roots",
    description: "MRTR (SEP-2322): asks for the client roots via an in-band roots/list request",
    input: noArgs,
    handler: (_args, ctx) => {
      const answer = inputResponse(ctx.input.responses, "client_roots");
      if (answer.kind !== "roots")
        return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
      return text(
        `Client exposed ${answer.roots.length} root(s): ${answer.roots.map((r) => r.uri).join(", ")}`,
      );
    },
  }),
  tool({
    name: "test_input_required_result_request_state",
    description:
      "MRTR (SEP-2322): round-trips integrity-protected requestState alongside an elicitation request",
    input: noArgs,
    handler: (_args, ctx) =>
      confirmWithState(ctx, "request_state", "state-ok: requestState verified and confirmation received"),
  }),
  tool({
    name: "test_input_required_result_multiple_inputs",
    description: "MRTR (SEP-2322): asks for elicitation, sampling and roots input in a single round",
    input: noArgs,
    handler: async (_args, ctx) => {
      const name = askName(ctx, "user_name");
      const greeting = inputResponse(ctx.input.responses, "greeting");
      const roots = inputResponse(ctx.input.responses, "client_roots");
      if (typeof name === "string" && greeting.kind === "sampling" && roots.kind === "roots") {
        const content = greeting.result.content;
        const block = Array.isArray(content) ? content[0] : content;
        return text(
          `${block?.type === "text" ? block.text : "Hello"} ${name} — ${roots.roots.length} root(s) visible`,
        );
      }
      return inputRequired({
        inputRequests: {
          user_name: inputRequired.elicit({ message: "What is your name?", requestedSchema: NAME_FORM }),
          greeting: inputRequired.createMessage({
            messages: [{ role: "user", content: { type: "text", text: "Generate a greeting" } }],
            maxTokens: 50,
          }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await ctx.input.mintState({ tool: "multiple_inputs", nonce: randomUUID() }),
      });
    },
  }),
  tool({
    name: "test_input_required_result_multi_round",
    description: "MRTR (SEP-2322): two elicitation rounds with evolving requestState before completing",
    input: noArgs,
    handler: async (_args, ctx) => {
      const state = ctx.input.state<{ tool?: string; round?: number; name?: string }>();
      const round = state?.tool === "multi_round" && typeof state.round === "number" ? state.round : 0;
      if (round === 0) {
        return inputRequired({
          inputRequests: {
            step1: inputRequired.elicit({
              message: "Step 1: What is your name?",
              requestedSchema: NAME_FORM,
            }),
          },
          requestState: await ctx.input.mintState({ tool: "multi_round", round: 1, nonce: randomUUID() }),
        });
      }
      if (round === 1) {
        const name = acceptedContent<{ name: string }>(ctx.input.responses, "step1")?.name ?? "unknown";
        return inputRequired({
          inputRequests: {
            step2: inputRequired.elicit({
              message: "Step 2: What is your favorite color?",
              requestedSchema: {
                type: "object",
                properties: { color: { type: "string" } },
                required: ["color"],
              },
            }),
          },
          requestState: await ctx.input.mintState({
            tool: "multi_round",
            round: 2,
            name,
            nonce: randomUUID(),
          }),
        });
      }
      const color = acceptedContent<{ color: string }>(ctx.input.responses, "step2")?.color ?? "unknown";
      return text(`Multi-round complete: ${state?.name ?? "unknown"} likes ${color}`);
    },
  }),
  tool({
    name: "test_input_required_result_tampered_state",
    description: "MRTR (SEP-2322): rejects retries whose requestState fails integrity verification",
    input: noArgs,
    // A tampered requestState never gets here: the kit's verify hook answers -32602 first.
    handler: (_args, ctx) => confirmWithState(ctx, "tampered_state", "integrity-ok: requestState verified"),
  }),
  tool({
    name: "test_input_required_result_capabilities",
    description: "MRTR (SEP-2322): only requests input kinds the declared client capabilities cover",
    input: noArgs,
    handler: (_args, ctx) => {
      if (ctx.input.responses !== undefined) return text("Capability-aware input requests fulfilled");
      const declared = ctx.clientCapabilities ?? {};
      const requests: Parameters<typeof inputRequired>[0]["inputRequests"] = {};
      if (declared.elicitation !== undefined) {
        requests.user_name = inputRequired.elicit({
          message: "What is your name?",
          requestedSchema: NAME_FORM,
        });
      }
      if (declared.sampling !== undefined) {
        requests.greeting = inputRequired.createMessage({
          messages: [{ role: "user", content: { type: "text", text: "Generate a short greeting" } }],
          maxTokens: 50,
        });
      }
      if (declared.roots !== undefined) requests.client_roots = inputRequired.listRoots();
      if (Object.keys(requests).length === 0) {
        return text("No declared client capability supports an in-band input request");
      }
      return inputRequired({ inputRequests: requests });
    },
  }),
];

/** Diagnostics the `server-stateless` (SEP-2575) scenario calls by name. */
const statelessTools = [
  tool({
    name: "test_missing_capability",
    description:
      "SEP-2575: requires the `sampling` client capability (drives the -32021 undeclared-capability rejection)",
    input: noArgs,
    handler: (_args, ctx) => {
      if (ctx.input.responses?.llm_answer !== undefined) return "sampling round-trip complete";
      return inputRequired({
        inputRequests: {
          llm_answer: inputRequired.createMessage({
            messages: [{ role: "user", content: { type: "text", text: "Reply with the single word: pong" } }],
            maxTokens: 16,
          }),
        },
      });
    },
  }),
  tool({
    name: "test_streaming_elicitation",
    description: "SEP-2575: yields a response stream carrying no independent top-level JSON-RPC requests",
    input: noArgs,
    handler: () => "stream observed: result frames only, no top-level requests",
  }),
  tool({
    name: "test_logging_tool",
    description: "SEP-2575: logs through the request-scoped, logLevel-gated channel",
    input: noArgs,
    handler: async (_args, ctx) => {
      await ctx.log("info", "test_logging_tool ran (delivered only when the request set _meta.logLevel)");
      return "logged through the request-scoped, logLevel-gated channel";
    },
  }),
  tool({
    name: "test_trigger_tool_change",
    description: "Listen diagnostic (SEP-2575): announces a tools/list_changed",
    input: noArgs,
    handler: (_args, ctx) => {
      ctx.events.toolsChanged();
      return "tools_list_changed published";
    },
  }),
  tool({
    name: "test_trigger_prompt_change",
    description: "Listen diagnostic (SEP-2575): announces a prompts/list_changed",
    input: noArgs,
    handler: (_args, ctx) => {
      ctx.events.promptsChanged();
      return "prompts_list_changed published";
    },
  }),
];

const resources = [
  resource({
    name: "static-text",
    uri: "test://static-text",
    title: "Static Text Resource",
    description: "A static text resource for testing",
    mimeType: "text/plain",
    read: async () => "This is the content of the static text resource.",
  }),
  resource({
    name: "static-binary",
    uri: "test://static-binary",
    title: "Static Binary Resource",
    description: "A static binary resource (image) for testing",
    mimeType: "image/png",
    read: async () => ({
      contents: [{ uri: "test://static-binary", mimeType: "image/png", blob: TEST_IMAGE_BASE64 }],
    }),
  }),
  resource({
    name: "template",
    uri: "test://template/{id}/data",
    title: "Resource Template",
    description: "A resource template with parameter substitution",
    mimeType: "application/json",
    read: async ({ variables }) => ({
      id: variables.id,
      templateTest: true,
      data: `Data for ID: ${String(variables.id)}`,
    }),
  }),
  resource({
    name: "watched-resource",
    uri: "test://watched-resource",
    title: "Watched Resource",
    description: "Resource for subscribe/unsubscribe testing",
    mimeType: "text/plain",
    subscribable: true,
    read: async () => "Watched resource content",
  }),
];

const prompts = [
  prompt({
    name: "test_simple_prompt",
    description: "A simple prompt without arguments",
    render: () => "This is a simple prompt for testing.",
  }),
  prompt({
    name: "test_prompt_with_arguments",
    description: "A prompt with required arguments",
    args: z.object({
      arg1: z.string().describe("First test argument"),
      arg2: z.string().describe("Second test argument"),
    }),
    complete: {
      arg1: (value) => ["test", "testing", "tested"].filter((v) => v.startsWith(value)),
    },
    render: ({ arg1, arg2 }) => `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`,
  }),
  prompt({
    name: "test_prompt_with_embedded_resource",
    description: "A prompt that includes an embedded resource",
    args: z.object({ resourceUri: z.string().describe("URI of the resource to embed") }),
    render: ({ resourceUri }) => ({
      messages: [
        {
          role: "user",
          content: {
            type: "resource",
            resource: {
              uri: resourceUri,
              mimeType: "text/plain",
              text: "Embedded resource content for testing.",
            },
          },
        },
        { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
      ],
    }),
  }),
  prompt({
    name: "test_input_required_result_prompt",
    description: "MRTR (SEP-2322): prompt that requires elicitation input before rendering",
    render: (_args, ctx) => {
      const context = acceptedContent<{ context: string }>(ctx.input.responses, "user_context")?.context;
      if (typeof context === "string") return `Use the following context: ${context}`;
      return inputRequired({
        inputRequests: {
          user_context: inputRequired.elicit({
            message: "What context should the prompt use?",
            requestedSchema: {
              type: "object",
              properties: { context: { type: "string" } },
              required: ["context"],
            },
          }),
        },
      });
    },
  }),
  prompt({
    name: "test_prompt_with_image",
    description: "A prompt that includes image content",
    render: () => ({
      messages: [
        { role: "user", content: { type: "image", data: TEST_IMAGE_BASE64, mimeType: "image/png" } },
        { role: "user", content: { type: "text", text: "Please analyze the image above." } },
      ],
    }),
  }),
];

export function createConformanceShard(): Shard {
  return defineShard({
    name: "mcp-conformance-test-server",
    version: "1.0.0",
    description: "Every tool, resource and prompt the MCP conformance suite calls (both protocol eras)",
    tools: [...simpleTools, ...interactiveTools, ...mrtrTools, ...statelessTools],
    resources,
    prompts,
  });
}
