"""👍/👎 under each answer; votes land in the feedback log with the question, answer and sources.

The buttons are ``DynamicItem``s whose custom id carries the answer's id, so they keep working
after the bot restarts.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

if TYPE_CHECKING:
    from bot.discord.app import ArticleBot

log = logging.getLogger(__name__)


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                     template=r"fb:(?P<vote>up|down):(?P<answer_id>[0-9a-f]{16})"):
    def __init__(self, vote: str, answer_id: str) -> None:
        super().__init__(discord.ui.Button(
            style=discord.ButtonStyle.secondary, emoji="👍" if vote == "up" else "👎",
            custom_id=f"fb:{vote}:{answer_id}"))
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button[Any],
                             match: re.Match[str]) -> FeedbackButton:
        return cls(match["vote"], match["answer_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot: ArticleBot = interaction.client  # type: ignore[assignment]
        try:
            stored = bot.feedback.vote(self.answer_id, str(interaction.user.id), self.vote == "up")
        except sqlite3.Error as exc:
            log.warning("a vote could not be kept: %s", exc)
            await interaction.response.send_message("Your vote could not be saved right now, sorry.", ephemeral=True)
            return
        text = "Thanks for the feedback!" if stored else "That answer is too old to rate."
        await interaction.response.send_message(text, ephemeral=True)


def feedback_view(answer_id: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", answer_id))
    view.add_item(FeedbackButton("down", answer_id))
    return view


class FeedbackCog(commands.Cog):
    """Holds nothing but makes the feature visible as a cog; votes arrive through the buttons."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
