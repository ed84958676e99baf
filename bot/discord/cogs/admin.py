"""Server articles, for members with Manage Server: ``/ingest``, ``/sources``, ``/forget``.

Attachments are read in memory and never written under their own names, so a file name such as
``../../etc/passwd.txt`` means nothing more than its last part.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.formatting import split_message
from bot.discord.replies import error_message
from retrieval.engine import IngestReport
from retrieval.errors import ArticlebotError, BadInputError, NotFoundError
from retrieval.fetching import charset_of
from retrieval.loading import load_bytes, read_articles
from retrieval.store import SourceInfo

if TYPE_CHECKING:
    from bot.discord.app import ArticleBot

log = logging.getLogger(__name__)
T = TypeVar("T")
REFUSAL = "Only members with the **Manage Server** permission can change this server's articles."
# A listing longer than this many messages comes as one attached file: a server fed by a news feed
# holds hundreds of articles, and dozens of messages in a row are unreadable and rate-limited.
MAX_LISTING_MESSAGES = 3


def safe_file_name(name: str) -> str:
    """The last component of an uploaded file's name, whatever separators it uses."""
    last = PureWindowsPath(PurePosixPath(name).name).name.strip().lstrip(".")
    return last or "attachment.txt"


def manage_guild_only() -> Callable[[T], T]:
    """Checked by the bot on every call, whatever the server's command permission overrides say."""

    async def predicate(interaction: discord.Interaction) -> bool:
        if interaction.guild is None or not interaction.permissions.manage_guild:
            raise app_commands.CheckFailure(REFUSAL)
        return True

    return app_commands.check(predicate)


def for_admins() -> Callable[[T], T]:
    """A command for members with Manage Server, in a server: hidden from the others by default,
    and checked by the bot on every call."""

    def decorate(func: T) -> T:
        return app_commands.guild_only()(app_commands.default_permissions(manage_guild=True)(
            manage_guild_only()(func)))

    return decorate


def summary(report: IngestReport) -> str:
    lines = [f"Ingested {len(report.ingested)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}."]
    lines += [f"• {title}" for title in report.ingested[:10]]
    lines += [f"✗ {reason}" for _, reason in report.failed[:10]]
    return "\n".join(lines)


def suggestions(options: Iterable[tuple[str, str, str]], typed: str) -> list[app_commands.Choice[str]]:
    """What an autocompleted option offers as the admin types: (shown name, value, text searched)
    for each option whose searched text holds the typed text.

    Discord takes at most 25 choices of at most 100 characters each; a longer value can still be pasted.
    """
    typed = typed.strip().lower()
    choices = []
    for name, value, searched in options:
        if len(value) > 100 or (typed and typed not in searched.lower()):
            continue
        choices.append(app_commands.Choice(name=(name or value)[:100], value=value))
        if len(choices) == 25:
            break
    return choices


def source_choices(items: list[SourceInfo], typed: str) -> list[app_commands.Choice[str]]:
    """/forget's suggestions: articles whose title or id holds the typed text."""
    return suggestions(((f"{s.title} ({s.date})" if s.date else s.title, s.id, f"{s.title}\n{s.id}")
                        for s in items), typed)


class AdminCog(commands.Cog):
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    @app_commands.command(name="ingest", description="Add an article to this server (file or URL)")
    @app_commands.describe(file="A txt, md, html, pdf, docx or json file", url="An article's web address")
    @for_admins()
    async def ingest(self, interaction: discord.Interaction, file: discord.Attachment | None = None,
                     url: str | None = None) -> None:
        if file is None and not url:
            await interaction.response.send_message("Attach a file or give a URL.", ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        assert interaction.guild_id is not None
        collection = self.bot.guild_collection(interaction.guild_id)
        engine = self.bot.engine
        report = IngestReport()
        try:
            if file is not None:
                if file.size > self.bot.settings.max_file_bytes:
                    raise BadInputError(f"{file.filename}: too large ({file.size} bytes)")
                name = safe_file_name(file.filename)
                data = await file.read()
                # Off the event loop: parsing 8 MB of HTML takes ~18 s, in which no one else's
                # question would be answered and the gateway's heartbeats would stop.
                articles = await self.bot.runner.run(read_articles, report.failed, load_bytes, data, name,
                                                     f"discord:{interaction.guild_id}/{name}",
                                                     charset=charset_of(file.content_type or ""))
                report.merge(await self.bot.runner.run(engine.ingest_articles, articles, collection))
            if url:  # given with a file too: both are ingested, not the URL silently dropped
                report.merge(await self.bot.runner.run(engine.ingest_urls, [url], collection))
        except (ArticlebotError, discord.HTTPException) as exc:
            await interaction.followup.send(error_message(exc), ephemeral=True)
            return
        await interaction.followup.send(summary(report)[:1900], ephemeral=True)

    @app_commands.command(name="sources", description="List this server's articles")
    @for_admins()
    async def sources(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            items = await self.bot.runner.run(self.bot.engine.sources, self.bot.guild_collection(interaction.guild_id))
        except NotFoundError:
            items = []
        except ArticlebotError as exc:
            await interaction.followup.send(error_message(exc), ephemeral=True)
            return
        if not items:
            await interaction.followup.send("No articles yet: add some with /ingest.", ephemeral=True)
            return
        text = "\n".join(f"`{s.id}` — {s.title} ({s.date or 'undated'}, {s.lang})" for s in items)
        parts = split_message(text)
        if len(parts) > MAX_LISTING_MESSAGES:
            listing = discord.File(io.BytesIO(text.encode("utf-8")), filename="sources.txt")
            await interaction.followup.send(f"{len(items)} articles: the list is attached.", file=listing,
                                            ephemeral=True)
            return
        for part in parts:
            await interaction.followup.send(part, ephemeral=True)

    @app_commands.command(name="forget", description="Remove an article from this server")
    @app_commands.describe(source_id="The article's id, as /sources shows it")
    @for_admins()
    async def forget(self, interaction: discord.Interaction, source_id: str) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            removed = await self.bot.runner.run(self.bot.engine.remove_source, source_id,
                                                self.bot.guild_collection(interaction.guild_id))
        except ArticlebotError as exc:
            await interaction.followup.send(error_message(exc), ephemeral=True)
            return
        await interaction.followup.send(f"Removed `{source_id}` ({removed} passages).", ephemeral=True)

    @forget.autocomplete("source_id")
    @manage_guild_only()
    async def forget_choices(self, interaction: discord.Interaction, typed: str) -> list[app_commands.Choice[str]]:
        assert interaction.guild_id is not None
        try:
            # Not through the runner: Discord drops a suggestion list that takes over 3 s, and the
            # runner's workers may all be busy with the model; listing sources only reads the store.
            items = await asyncio.to_thread(self.bot.engine.sources, self.bot.guild_collection(interaction.guild_id))
        except ArticlebotError:
            return []
        return source_choices(items, typed)
