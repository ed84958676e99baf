"""Following news feeds: a server's admins name an RSS or Atom feed once, and its new items keep
arriving in that server's articles, polled every ``ARTICLEBOT_DISCORD_FEED_POLL_MINUTES``.

A news bot whose articles must be added one by one goes stale within a day; ``articlebot watch``
does the same for the command line.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.cogs.admin import for_admins, manage_guild_only, suggestions, summary
from bot.discord.formatting import split_message
from bot.discord.replies import error_message
from retrieval.engine import IngestReport
from retrieval.errors import ArticlebotError

if TYPE_CHECKING:
    from bot.discord.app import ArticleBot

log = logging.getLogger(__name__)


class FeedsCog(commands.Cog):
    # How long /follow waits for a feed's first reading before it answers: a large feed of slow pages
    # can take longer than the 15 minutes Discord keeps an interaction open, and its answer was lost.
    first_read_wait_s = 600.0

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        self._poller: asyncio.Task[None] | None = None
        self._first_reads: set[asyncio.Future[IngestReport]] = set()

    async def cog_load(self) -> None:
        self._poller = asyncio.create_task(self._poll_forever())

    async def cog_unload(self) -> None:
        if self._poller:
            self._poller.cancel()

    # -- polling -----------------------------------------------------------------------------
    async def _poll_forever(self) -> None:
        await self.bot.wait_until_ready()
        while True:  # at start-up first: items published while the bot was down arrive at once
            try:
                await self.poll_once()
            except Exception:  # the follow list itself unreadable (disk full, say): try again next time
                log.exception("polling the followed feeds failed")
            await asyncio.sleep(self.bot.settings.discord_feed_poll_minutes * 60)

    async def poll_once(self) -> None:
        """Every followed feed once; a feed that fails is logged and tried again at the next poll."""
        for guild_id, url in await asyncio.to_thread(self.bot.follows.all):
            if self.bot.get_guild(guild_id) is None:
                continue  # the bot left that server; its list is kept should it come back
            try:
                report = await self.bot.runner.run(self.bot.engine.ingest_feed, url,
                                                   self.bot.guild_collection(guild_id))
            except Exception as exc:
                log.warning("feed %s for server %s failed: %s: %s", url, guild_id, type(exc).__name__, exc)
                continue
            if report.ingested or report.failed:
                log.info("feed %s for server %s: %d ingested, %d failed", url, guild_id,
                         len(report.ingested), len(report.failed))

    # -- commands ----------------------------------------------------------------------------
    @app_commands.command(name="follow", description="Follow an RSS or Atom feed: its new items are added here")
    @app_commands.describe(url="The feed's web address")
    @for_admins()
    async def follow(self, interaction: discord.Interaction, url: str) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True, ephemeral=True)
        url = url.strip()
        following = await asyncio.to_thread(self.bot.follows.of, interaction.guild_id)
        limit = self.bot.settings.discord_max_feeds_per_server
        if url not in following and len(following) >= limit:
            await interaction.followup.send(
                f"This server already follows {limit} feed{'' if limit == 1 else 's'}, the most it may "
                f"(ARTICLEBOT_DISCORD_MAX_FEEDS_PER_SERVER): /unfollow one first.", ephemeral=True)
            return
        reading = asyncio.ensure_future(self.bot.runner.run(self.bot.engine.ingest_feed, url,
                                                            self.bot.guild_collection(interaction.guild_id)))
        try:
            report: IngestReport | None = await asyncio.wait_for(asyncio.shield(reading), self.first_read_wait_s)
        except ArticlebotError as exc:
            await interaction.followup.send(error_message(exc), ephemeral=True)
            return
        except TimeoutError:  # the feed was read (a fetch ends within a minute): its items are not yet
            report = None
            self._first_reads.add(reading)
            reading.add_done_callback(lambda done: self._first_read_done(done, url, interaction.guild_id))
        added = await asyncio.to_thread(self.bot.follows.add, interaction.guild_id, url)
        minutes = f"{self.bot.settings.discord_feed_poll_minutes:g}"
        head = (f"Following <{url}>: new items are added every {minutes} minutes." if added
                else f"Already following <{url}>; read again now.")
        if report is None:
            await interaction.followup.send(f"{head}\nIts items are still being read: each can be asked about "
                                            "as soon as it is added.", ephemeral=True)
            return
        await interaction.followup.send(f"{head}\n{summary(report)}"[:1900], ephemeral=True)

    def _first_read_done(self, reading: asyncio.Future[IngestReport], url: str, guild_id: int | None) -> None:
        """The end of a first reading /follow stopped waiting for: logged, as a poll's is."""
        self._first_reads.discard(reading)
        if reading.cancelled():
            return
        if (exc := reading.exception()) is not None:
            log.warning("feed %s for server %s: first reading failed: %s: %s", url, guild_id, type(exc).__name__, exc)
            return
        report = reading.result()
        log.info("feed %s for server %s: first reading done: %d ingested, %d failed", url, guild_id,
                 len(report.ingested), len(report.failed))

    @app_commands.command(name="unfollow", description="Stop following a feed (its articles stay)")
    @app_commands.describe(url="The feed's web address, as /feeds shows it")
    @for_admins()
    async def unfollow(self, interaction: discord.Interaction, url: str) -> None:
        assert interaction.guild_id is not None
        url = url.strip()
        if await asyncio.to_thread(self.bot.follows.remove, interaction.guild_id, url):
            text = f"Stopped following <{url}>. Its articles stay; /forget removes one."
        else:
            text = f"This server does not follow <{url}>: /feeds lists the ones it does."
        await interaction.response.send_message(text, ephemeral=True)

    @unfollow.autocomplete("url")
    @manage_guild_only()
    async def unfollow_choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        assert interaction.guild_id is not None
        urls = await asyncio.to_thread(self.bot.follows.of, interaction.guild_id)
        return suggestions(((u, u, u) for u in urls), typed)

    @app_commands.command(name="feeds", description="List the feeds this server follows")
    @for_admins()
    async def feeds(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        urls = await asyncio.to_thread(self.bot.follows.of, interaction.guild_id)
        if not urls:
            await interaction.response.send_message("This server follows no feeds: add one with /follow.",
                                                    ephemeral=True)
            return
        parts = split_message("\n".join(f"<{u}>" for u in urls))
        await interaction.response.send_message(parts[0], ephemeral=True)
        for part in parts[1:]:
            await interaction.followup.send(part, ephemeral=True)
