"""The bot itself: settings → a discord.py ``commands.Bot`` with the articlebot cogs loaded.

``ARTICLEBOT_DISCORD_API_URL`` and ``ARTICLEBOT_DISCORD_GATEWAY_URL`` point discord.py at any
Discord-compatible server (a self-hosted Spacebar, or the test peer); Discord's own by default.
Replies never ping anyone: mentions are disabled for every message the bot sends.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
import yarl
from discord.ext import commands

from bot.discord.conversations import Conversations
from bot.discord.follows import FeedFollows
from bot.discord.workers import EngineRunner, RateLimiter
from retrieval.engine import Engine
from retrieval.feedback import FeedbackLog
from retrieval.settings import Settings

log = logging.getLogger(__name__)


def point_at_server(settings: Settings) -> None:
    """Direct discord.py's REST and gateway URLs (process-wide, as discord.py keeps them)."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class ArticleBot(commands.Bot):
    """articlebot on Discord; holds the engine, the feedback log, the worker pool and the limits."""

    def __init__(self, engine: Engine, feedback: FeedbackLog, **options: Any) -> None:
        # No voice here: discord.py's two warnings at each start that voice libraries are missing are noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = True  # to read questions asked by @mention and in threads
        super().__init__(command_prefix=[], intents=intents, help_command=None,
                         allowed_mentions=discord.AllowedMentions.none(), **options)
        self.engine = engine
        self.settings = engine.settings
        self.feedback = feedback
        self.runner = EngineRunner(self.settings.discord_max_concurrency)
        self.limiter = RateLimiter(self.settings.discord_rate_limit_per_minute)
        self.conversations = Conversations(self.settings.discord_conversations_path)
        self.follows = FeedFollows(self.settings.discord_feeds_path)

    async def setup_hook(self) -> None:
        from bot.discord.cogs.admin import AdminCog
        from bot.discord.cogs.ask import AskCog
        from bot.discord.cogs.errors import ErrorsCog
        from bot.discord.cogs.feedback import FeedbackButton, FeedbackCog
        from bot.discord.cogs.feeds import FeedsCog
        from bot.discord.cogs.help import HelpCog

        for cog in (ErrorsCog(self), AskCog(self), AdminCog(self), FeedbackCog(self), FeedsCog(self), HelpCog(self)):
            await self.add_cog(cog)
        self.add_dynamic_items(FeedbackButton)
        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions are handled by the ask cog's listener."""

    async def close(self) -> None:
        await super().close()  # unloads the cogs first, which stops the feed poller
        self.runner.close()
        self.follows.close()
        self.conversations.close()

    @staticmethod
    def guild_collection(guild_id: int) -> str:
        return f"guild-{guild_id}"

    def collections_for(self, guild_id: int | None) -> list[str]:
        """A server reads its own articles, plus the shared collection when one is configured."""
        names = [self.guild_collection(guild_id)] if guild_id else []
        shared = self.settings.discord_shared_collection
        if shared and shared not in names:
            names.append(shared)
        return names


def build_bot(settings: Settings, engine: Engine | None = None, **options: Any) -> ArticleBot:
    point_at_server(settings)
    engine = engine or Engine(settings)
    return ArticleBot(engine, FeedbackLog(settings.feedback_path), **options)


def run_bot(settings: Settings) -> None:
    """``articlebot discord``: blocks until the bot is stopped. The failures of a first setup (a
    token pasted wrong, the Message Content intent left off, no route to Discord) end it with one
    line saying what to do, not discord.py's exception."""
    import aiohttp

    from retrieval.errors import BackendError, BadInputError

    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise BadInputError("ARTICLEBOT_DISCORD_TOKEN is not set: create a bot in Discord's developer portal "
                            "and put its token there (see README, 'Discord')")
    bot = build_bot(settings)
    bot.engine.check_prompts()
    try:
        bot.run(settings.discord_token.get_secret_value(), log_handler=None)
    except discord.LoginFailure as exc:
        raise BadInputError("Discord refused ARTICLEBOT_DISCORD_TOKEN: copy the bot's token again from the "
                            "developer portal (Bot → Reset Token)") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise BadInputError("Discord refused the Message Content intent: enable it under Bot → Privileged Gateway "
                            "Intents in the developer portal (see README, 'Discord')") from exc
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        raise BackendError(f"cannot reach Discord at {settings.discord_api_url} ({exc})") from exc
