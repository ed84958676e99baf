"""A Discord peer on 127.0.0.1: the REST and gateway subset articlebot uses, for the real discord.py.

Not a mock of discord.py: the bot's own HTTP client and websocket talk to this server over
loopback, exactly as they would to Discord (uncompressed JSON text frames on the gateway).
Tests drive it by injecting gateway events and reading what the bot posted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
MANAGE_GUILD = 1 << 5
_ids = itertools.count(1_000_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_ids))


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def user(uid: int | str, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(uid), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


BOT_USER = user(BOT_ID, "articlebot", bot=True)


@dataclass
class Guild:
    id: str
    name: str
    channel_id: str = field(default_factory=snowflake)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "icon": None, "owner_id": "1", "afk_timeout": 0,
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "roles": [{"id": self.id, "name": "@everyone", "permissions": "0", "position": 0, "color": 0,
                       "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
            "emojis": [], "stickers": [], "features": [], "mfa_level": 0, "system_channel_id": None,
            "channels": [{"id": self.channel_id, "type": 0, "name": "general", "position": 0,
                          "permission_overwrites": [], "guild_id": self.id, "nsfw": False, "topic": None}],
            "threads": [], "members": [{"user": BOT_USER, "roles": [], "joined_at": now_iso(), "deaf": False,
                                        "mute": False, "flags": 0}],
            "member_count": 2, "large": False, "unavailable": False, "premium_tier": 0, "preferred_locale": "en-US",
            "nsfw_level": 0, "premium_progress_bar_enabled": False, "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [], "joined_at": now_iso(),
        }


@dataclass
class Posted:
    """A message the bot sent (channel message or interaction follow-up)."""

    channel_id: str
    id: str
    content: str
    payload: dict[str, Any]  # the JSON body; files sent with it under "files", name -> bytes


class DiscordPeer:
    """Start with ``await peer.start()``; point the bot at ``peer.api_url`` and ``peer.gateway_url``."""

    def __init__(self, guilds: list[Guild], heartbeat_ms: int = 1000) -> None:
        self.guilds = {g.id: g for g in guilds}
        self.heartbeat_ms = heartbeat_ms
        self.posted: list[Posted] = []
        self.callbacks: list[dict[str, Any]] = []
        self.threads: dict[str, dict[str, Any]] = {}
        self.threads_forbidden = False  # when set, creating a thread answers 403 Missing Permissions
        self.token: str | None = None  # when set, REST calls with another token answer 401, as Discord does
        self.refuse_intents = False  # when set, IDENTIFY is answered with close code 4014 (Message Content off)
        self.typing: list[str] = []
        self.heartbeats: list[float] = []
        self.commands: list[dict[str, Any]] = []
        self.attachments: dict[str, tuple[str, bytes]] = {}
        self.identifies = 0
        self.resumes = 0
        self.ready = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._interaction_channels: dict[str, str] = {}
        self.members: dict[str, dict[str, Any]] = {}  # user id -> user: who GET .../members/{id} finds
        self.member_lookups: list[str] = []

    # -- server ------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gw", self._gateway)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gw"

    # -- gateway -----------------------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            op = data.get("op")
            if op == 1:
                self.heartbeats.append(time.monotonic())
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 2:
                self.identifies += 1
                if self.refuse_intents:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                await self.dispatch("READY", {
                    "v": 10, "user": BOT_USER, "guilds": [{"id": g, "unavailable": True} for g in self.guilds],
                    "session_id": "session-1", "resume_gateway_url": self.gateway_url, "shard": [0, 1],
                    "application": {"id": str(APP_ID), "flags": 0},
                })
                for guild in self.guilds.values():  # with its active threads, as Discord sends them
                    threads = [t for t in self.threads.values() if t["guild_id"] == guild.id]
                    await self.dispatch("GUILD_CREATE", {**guild.payload(), "threads": threads})
                self.ready.set()
            elif op == 6:
                self.resumes += 1
                await self.dispatch("RESUMED", {})
                self.ready.set()
        return ws

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        assert self._ws is not None, "the bot is not connected"
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def drop_connection(self) -> None:
        """Close the gateway as a network failure would; the bot must reconnect by itself."""
        self.ready.clear()
        assert self._ws is not None
        await self._ws.close(code=4000, message=b"dropped by the test peer")

    # -- REST --------------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        if self.token is not None and request.headers.get("Authorization") != f"Bot {self.token}":
            return web.Response(body=b'{"message": "401: Unauthorized", "code": 0}', status=401,
                                headers={"Content-Type": "application/json"})
        method = request.method
        body: Any = None
        if request.can_read_body:
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                files: dict[str, bytes] = {}
                async for part in reader:
                    if part.name == "payload_json":
                        body = json.loads(await part.text())
                    elif part.filename:
                        files[part.filename] = bytes(await part.read())
                body = {**(body or {}), "files": files}
            else:
                raw = await request.read()
                body = json.loads(raw) if raw else None
        result = await self._route(method, path, body or {}, request)
        if result is None:
            return web.Response(status=204)
        # discord.py reads JSON only for exactly this content type, without a charset.
        return web.Response(body=json.dumps(result).encode(), status=200, headers={"Content-Type": "application/json"})

    async def _route(self, method: str, path: str, body: dict[str, Any], request: web.Request) -> Any:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return BOT_USER
        if path == "/oauth2/applications/@me":
            return {"id": str(APP_ID), "name": "articlebot", "description": "", "icon": None, "bot_public": True,
                    "bot_require_code_grant": False, "owner": user(1, "owner"), "verify_key": "0" * 64, "flags": 0,
                    "interactions_endpoint_url": None}
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            self.commands = [{**c, "id": snowflake(), "application_id": str(APP_ID), "version": "1"} for c in body]
            return self.commands
        if parts[0] == "channels" and parts[-1] == "typing":
            self.typing.append(parts[1])
            return None
        if parts[0] == "channels" and len(parts) == 3 and parts[2] == "messages" and method == "POST":
            return await self._post(parts[1], body)
        if parts[0] == "channels" and len(parts) == 5 and parts[4] == "threads":
            return await self._create_thread(parts[1], parts[3], body)
        if parts[0] == "guilds" and len(parts) == 4 and parts[2] == "members" and method == "GET":
            self.member_lookups.append(parts[3])
            found = self.members.get(parts[3])
            if found is None or parts[1] not in self.guilds:
                raise web.HTTPNotFound(text=json.dumps({"message": "Unknown Member", "code": 10007}),
                                       content_type="application/json")
            return {"user": found, "nick": None, "roles": [], "joined_at": now_iso(), "deaf": False,
                    "mute": False, "flags": 0}
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], body)
        if parts[0] == "webhooks" and len(parts) == 3 and method == "POST":
            channel_id = self._interaction_channels.get(parts[2], "0")
            return await self._post(channel_id, body)
        if parts[0] == "webhooks" and parts[-1] == "@original" and method == "PATCH":
            channel_id = self._interaction_channels.get(parts[2], "0")
            return await self._post(channel_id, body)
        raise web.HTTPNotFound(text=json.dumps({"message": f"no route {method} {path}", "code": 0}),
                               content_type="application/json")

    async def _post(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        message = self.message_payload(channel_id, BOT_USER, body.get("content") or "", extra={
            "components": body.get("components", []), "flags": body.get("flags", 0)})
        async with self._changed:
            self.posted.append(Posted(channel_id, message["id"], message["content"], body))
            self._changed.notify_all()
        return message

    async def _create_thread(self, channel_id: str, message_id: str, body: dict[str, Any],
                             owner_id: str = str(BOT_ID)) -> dict[str, Any]:
        if self.threads_forbidden:
            raise web.HTTPForbidden(text=json.dumps({"message": "Missing Permissions", "code": 50013}),
                                    content_type="application/json")
        guild_id = next(g.id for g in self.guilds.values() if g.channel_id == channel_id)
        thread = {"id": message_id, "type": 11, "guild_id": guild_id, "parent_id": channel_id,
                  "name": body.get("name", ""), "owner_id": owner_id, "message_count": 0, "member_count": 1,
                  "rate_limit_per_user": 0, "flags": 0, "last_message_id": None,
                  "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                      "archive_timestamp": now_iso(), "locked": False}}
        self.threads[thread["id"]] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    async def open_thread(self, guild: Guild, owner: dict[str, Any], name: str) -> str:
        """A thread a member opens in the server's channel; returns its id."""
        thread = await self._create_thread(guild.channel_id, snowflake(), {"name": name}, owner_id=owner["id"])
        return str(thread["id"])

    def _callback(self, interaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.callbacks.append({"interaction_id": interaction_id, **body})
        data = body.get("data") or {}
        flags = data.get("flags", 0)
        result: dict[str, Any] = {"interaction": {
            "id": interaction_id, "type": 2, "response_message_loading": body.get("type") == 5,
            "response_message_ephemeral": bool(flags & 64)}, "resource": {"type": body.get("type")}}
        return result

    async def _attachment(self, request: web.Request) -> web.Response:
        name, data = self.attachments[request.match_info["id"]]
        return web.Response(body=data, content_type="application/octet-stream")

    # -- building events ---------------------------------------------------------------------
    def message_payload(self, channel_id: str, author: dict[str, Any], content: str,
                        mentions: list[dict[str, Any]] | None = None, extra: dict[str, Any] | None = None
                        ) -> dict[str, Any]:
        guild_id = self.guild_of(channel_id)
        payload = {"id": snowflake(), "channel_id": channel_id, "author": author, "content": content,
                   "timestamp": now_iso(), "edited_timestamp": None, "tts": False, "mention_everyone": False,
                   "mentions": mentions or [], "mention_roles": [], "attachments": [], "embeds": [],
                   "pinned": False, "type": 0, "flags": 0}
        if guild_id:
            payload["guild_id"] = guild_id
            payload["member"] = {"roles": [], "joined_at": now_iso(), "deaf": False, "mute": False, "flags": 0}
        payload.update(extra or {})
        return payload

    def guild_of(self, channel_id: str) -> str | None:
        for g in self.guilds.values():
            if g.channel_id == channel_id:
                return g.id
        thread = self.threads.get(channel_id)
        return thread["guild_id"] if thread else None

    async def send_message(self, channel_id: str, author: dict[str, Any], content: str,
                           mention_bot: bool = False, mentions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``mentions``: the other users the content names as ``<@id>``."""
        mentions = ([BOT_USER] if mention_bot else []) + (mentions or [])
        text = f"<@{BOT_ID}> {content}" if mention_bot else content
        payload = self.message_payload(channel_id, author, text, mentions)
        await self.dispatch("MESSAGE_CREATE", payload)
        return payload

    async def slash(self, guild: Guild, author: dict[str, Any], name: str, options: list[dict[str, Any]],
                    manage_guild: bool = False, resolved: dict[str, Any] | None = None,
                    interaction_type: int = 2, thread_id: str | None = None) -> str:
        """A slash command (type 2), or with ``interaction_type=4`` an autocomplete request for the
        option marked ``"focused": True``; in the server's channel, or in the thread ``thread_id``."""
        command = next(c for c in self.commands if c["name"] == name)
        interaction_id, token = snowflake(), "tok" + snowflake()
        channel = self.threads[thread_id] if thread_id else {
            "id": guild.channel_id, "type": 0, "guild_id": guild.id, "name": "general", "position": 0,
            "permission_overwrites": []}
        self._interaction_channels[token] = channel["id"]
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": 1, "options": options}
        if resolved:
            data["resolved"] = resolved
        await self.dispatch("INTERACTION_CREATE", {
            "id": interaction_id, "application_id": str(APP_ID), "type": interaction_type, "data": data,
            "guild_id": guild.id, "channel_id": channel["id"], "channel": channel,
            "member": {"user": author, "roles": [], "permissions": str(MANAGE_GUILD if manage_guild else 1024),
                       "joined_at": now_iso(), "deaf": False, "mute": False, "flags": 0},
            "token": token, "version": 1, "app_permissions": "0", "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 26214400, "entitlements": [], "authorizing_integration_owners": {},
            "context": 0,
        })
        return token

    async def click(self, guild: Guild, author: dict[str, Any], message: Posted, custom_id: str) -> str:
        interaction_id, token = snowflake(), "tok" + snowflake()
        self._interaction_channels[token] = message.channel_id
        msg = self.message_payload(message.channel_id, BOT_USER, message.content,
                                   extra={"id": message.id, "components": message.payload.get("components", [])})
        await self.dispatch("INTERACTION_CREATE", {
            "id": interaction_id, "application_id": str(APP_ID), "type": 3, "guild_id": guild.id,
            "channel_id": message.channel_id,
            "channel": {"id": message.channel_id, "type": 0, "guild_id": guild.id, "name": "general", "position": 0,
                        "permission_overwrites": []},
            "data": {"custom_id": custom_id, "component_type": 2}, "message": msg,
            "member": {"user": author, "roles": [], "permissions": "1024", "joined_at": now_iso(), "deaf": False,
                       "mute": False, "flags": 0},
            "token": token, "version": 1, "app_permissions": "0", "locale": "en-US", "guild_locale": "en-US",
            "attachment_size_limit": 26214400, "entitlements": [], "authorizing_integration_owners": {},
            "context": 0,
        })
        return interaction_id

    def add_attachment(self, filename: str, data: bytes, content_type: str = "text/plain") -> dict[str, Any]:
        attachment_id = snowflake()
        self.attachments[attachment_id] = (filename, data)
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/x"
        return {"id": attachment_id, "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                "content_type": content_type}

    async def wait_for_posts(self, count: int, timeout: float = 120.0, channel_id: str | None = None) -> list[Posted]:
        """Wait until the bot has posted ``count`` messages (in ``channel_id``, when given)."""

        def matching() -> list[Posted]:
            return [p for p in self.posted if channel_id is None or p.channel_id == channel_id]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), timeout)
        return matching()
