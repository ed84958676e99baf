"""``/help``: what the bot does and how to ask, for whoever meets it in a server for the first time.

Discord lists the slash commands, not what they are for, nor that questions may be in any language,
nor whether this server has any articles yet; the answer says so, privately, with the admin
commands shown to those who may use them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from retrieval.errors import NotFoundError

if TYPE_CHECKING:
    from bot.discord.app import ArticleBot

ASKING = ("I answer questions from the articles of this server, in any language, and cite them; "
          "when the articles do not hold the answer, I say so.\n"
          "• `/ask question` — or mention me with your question. Follow-ups go in the answer's thread.\n"
          "• `/ask` with `since`/`until` (YYYY-MM-DD): only articles published in that period; "
          "with `private`, only you see the answer.\n"
          "• 👍/👎 under an answer tells the team that tunes me whether it helped.")
ADMIN = ("Members with **Manage Server**: `/ingest` (a file or a URL), `/sources`, `/forget`, "
         "`/follow` an RSS or Atom feed, `/feeds`, `/unfollow`.")


class HelpCog(commands.Cog):
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    def _article_counts(self, guild_id: int) -> list[int]:
        """Articles in each collection this server reads (its own first); a missing one holds none.
        A store that cannot be read is not "no articles": its error reaches the member as for /sources."""
        counts = []
        for name in self.bot.collections_for(guild_id):
            try:
                counts.append(len(self.bot.engine.sources(name)))
            except NotFoundError:
                counts.append(0)
        return counts

    @app_commands.command(name="help", description="What this bot does and how to ask it")
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(thinking=True, ephemeral=True)
        own, *shared = await asyncio.to_thread(self._article_counts, interaction.guild_id)
        held = f"This server has {own} article{'' if own == 1 else 's'}"
        held += f", and reads {shared[0]} shared one{'' if shared[0] == 1 else 's'}." if shared else "."
        if own + sum(shared) == 0:
            held += " A member with Manage Server can add some with /ingest or /follow."
        lines = [ASKING, held]
        if interaction.permissions.manage_guild:
            lines.append(ADMIN)
        await interaction.followup.send("\n\n".join(lines), ephemeral=True)
