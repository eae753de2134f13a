"""One MCP client session of the Python `mcp` SDK (the client Open WebUI
uses) over Streamable HTTP: connect, then the tool calls given as JSON on
argv[2] (a list of [name, arguments]), in order, on the same client. Prints
{"calls": [{"ok", "text_bytes" | "error"}...]} on stdout. A failure of the
session itself (the transport dropping it) shows as the error of the calls
it took with it. Works with the SDK's 1.x API (ClientSession over
streamablehttp_client) and its 2.x API (mcp.Client)."""

import asyncio
import json
import sys

import mcp

TIMEOUT_S = 30


def outcome(result) -> dict:
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    is_error = getattr(result, "isError", None)
    if is_error is None:
        is_error = getattr(result, "is_error", False)
    return {"ok": not is_error, "text_bytes": len(text.encode())}


async def run_calls(call_tool, calls: list) -> list:
    out = []
    for name, arguments in calls:
        try:
            out.append(outcome(await asyncio.wait_for(call_tool(name, arguments), timeout=TIMEOUT_S)))
        except Exception as error:  # noqa: BLE001 - every failure is reported, not raised
            out.append({"ok": False, "error": f"{type(error).__name__}: {error}"})
    return out


async def main(url: str, calls: list) -> dict:
    if hasattr(mcp, "Client"):  # 2.x
        async with mcp.Client(url) as client:
            return {"calls": await run_calls(client.call_tool, calls)}
    from mcp.client.streamable_http import streamablehttp_client  # 1.x

    async with streamablehttp_client(url) as (read, write, _session_id):
        async with mcp.ClientSession(read, write) as session:
            await session.initialize()
            return {"calls": await run_calls(session.call_tool, calls)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))))
