"""The Python MCP SDK's OAuth client against the gateway (test/process/gateway-oauth.test.ts).

Usage: mcp_oauth.py <mcp url> <redirect uri>
Prints {"authorize": url} when the SDK sends the user to the authorization
server, reads the callback URL (with code and state) from stdin, then prints
{"tools": [...], "call": text} for the tools the token may see and one call.
"""
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken


class MemoryStorage(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def emit(value: object) -> None:
    print(json.dumps(value), flush=True)


async def redirect(url: str) -> None:
    emit({"authorize": url})


async def callback() -> tuple[str, str | None]:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    query = parse_qs(urlparse(line.strip()).query)
    return query["code"][0], query.get("state", [None])[0]


async def main(url: str, redirect_uri: str) -> None:
    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[redirect_uri],
            client_name="python-mcp-oauth-test",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post",
            # Hydra echoes unset ones as "" and null (see the TypeScript test).
            client_uri="http://127.0.0.1/python-mcp-oauth-test",
            contacts=["ops@example.com"],
        ),
        storage=MemoryStorage(),
        redirect_handler=redirect,
        callback_handler=callback,
    )
    async with streamablehttp_client(url, auth=provider) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            result = await session.call_tool("alpha_echo", {"text": "from python"})
            text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
            emit({"tools": tools, "call": text, "isError": result.isError})


asyncio.run(main(sys.argv[1], sys.argv[2]))
