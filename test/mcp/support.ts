/** An SDK `Client` connected in-process to `fenced mcp`'s server over one store, and typed tool calls. */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { StateStore } from "../../src/index.js";
import { createMcpServer } from "../../src/mcp/server.js";

export interface ToolAnswer {
  isError: boolean;
  structured: Record<string, unknown>;
  text: string;
}

/** Calls a tool and returns its result; a protocol error rejects (the tests assert there are none). */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const r = await client.callTool({ name, arguments: args });
  const content = r.content as { type: string; text: string }[];
  return {
    isError: r.isError === true,
    structured: (r.structuredContent ?? {}) as Record<string, unknown>,
    text: content[0]?.text ?? "",
  };
}

/** A client connected to a fresh in-process server over `store`. */
export async function connectInMemory(store: StateStore): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(store).connect(serverSide);
  return connect(clientSide);
}

export async function connect(transport: Transport): Promise<Client> {
  const client = new Client({ name: "fenced-test", version: "1" });
  await client.connect(transport);
  return client;
}
