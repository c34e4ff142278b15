import type { Oblien } from '@cove/sdk';
import type { Static, TObject } from '@sinclair/typebox';

/** What a tool runs with: the SDK client of the server, and the call's cancellation. */
export interface ToolContext {
  client: Oblien;
  /** Fires when the MCP client cancels the call (or the connection goes away). */
  signal: AbortSignal;
  /**
   * Tells the client how a long call is going (`notifications/progress`), when it asked by sending a
   * progressToken; otherwise does nothing. `progress` must grow from one report to the next.
   */
  progress: (progress: number, message?: string, total?: number) => void;
}

/** A tool's answer: text for the model, the same facts as JSON for programs (`structuredContent`). */
export interface ToolOutput {
  text: string;
  structured: Record<string, unknown>;
}

/** MCP's hints about what a tool does (clients use them to decide whether to ask before a call). */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/**
 * One tool: its input schema is a TypeBox object built from the protocol's schemas, so the JSON Schema
 * clients see and the validation the server applies are the same thing.
 */
export interface Tool<S extends TObject = TObject> {
  name: string;
  title: string;
  description: string;
  input: S;
  annotations: ToolAnnotations;
  run(args: Static<S>, ctx: ToolContext): Promise<ToolOutput>;
}

/** Keeps `run`'s argument typed by the schema while the registry holds tools of every shape. */
export function defineTool<S extends TObject>(tool: Tool<S>): Tool {
  return tool as unknown as Tool;
}

/** A protocol schema with the description a model needs (the wire schemas describe fields for HTTP callers). */
export function described<T extends object>(schema: T, description: string): T {
  return { ...schema, description };
}
