"""Asking: ``/ask``, an @mention, and follow-ups in the answer's thread (with the conversation)."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.cogs.feedback import feedback_view
from bot.discord.formatting import render_answer, split_message
from bot.discord.replies import error_message
from retrieval.answering import Answer
from retrieval.errors import ArticlebotError

if TYPE_CHECKING:
    from bot.discord.app import ArticleBot

log = logging.getLogger(__name__)
# Without ARTICLEBOT_DISCORD_SHARED_COLLECTION a direct message has no articles to be answered from.
DIRECT_MESSAGE_HINT = ("I answer questions about each server's articles: "
                       "ask me in a server, with /ask or by mentioning me.")
# A bare @mention: the member wants the bot, but has not asked anything yet.
MENTION_HINT = "Mention me with your question, in any language, or use /ask."


class AskCog(commands.Cog):
    """Parses the Discord event, calls the engine off the event loop, formats the reply."""

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    # -- engine call -------------------------------------------------------------------------
    async def _answer(self, question: str, guild_id: int | None, user_id: int,
                      history: list[tuple[str, str]] | None, since: str = "", until: str = ""
                      ) -> tuple[Answer | None, str]:
        """(answer, "") or (None, message for the user) — the bot keeps serving either way."""
        try:
            answer = await self.bot.runner.run(self.bot.engine.ask, question, self.bot.collections_for(guild_id),
                                               history=history, since=since, until=until)
        except Exception as exc:  # every failure becomes a short message; details go to the log
            # A known failure (the model or the store down) is one line; anything else is a bug to fix,
            # logged with its traceback.
            log.warning("question failed: %s: %s", type(exc).__name__, exc,
                        exc_info=not isinstance(exc, ArticlebotError))
            return None, error_message(exc)
        return answer, ""

    def _votes(self, answer: Answer, guild_id: int | None, user_id: int) -> discord.ui.View | None:
        """The 👍/👎 buttons, once the answer is in the feedback log. The log is a side matter: a
        full disk or a broken file costs the buttons, never the answer."""
        try:
            answer_id = self.bot.feedback.record_answer(answer, scope=str(guild_id or ""), user=str(user_id))
        except sqlite3.Error as exc:
            log.warning("answer sent without vote buttons: the feedback log failed: %s", exc)
            return None
        return feedback_view(answer_id)

    def _slow_down(self, user_id: int) -> str:
        wait = self.bot.limiter.retry_after(user_id)
        return f"You're asking quickly — please wait {wait:.0f} s before your next question." if wait else ""

    async def _send_answer(self, channel: discord.abc.Messageable, answer: Answer, guild_id: int | None,
                           user_id: int) -> list[discord.Message]:
        return [await channel.send(part, view=view) for part, view in self._messages(answer, guild_id, user_id)]

    def _messages(self, answer: Answer, guild_id: int | None, user_id: int) -> list[tuple[str, Any]]:
        """The answer's messages (under Discord's 2000 characters), the vote buttons under the last."""
        parts = split_message(render_answer(answer))
        votes = self._votes(answer, guild_id, user_id)
        view = votes if votes is not None else discord.utils.MISSING
        return [(part, view if i == len(parts) - 1 else discord.utils.MISSING) for i, part in enumerate(parts)]

    # -- /ask --------------------------------------------------------------------------------
    @app_commands.command(name="ask", description="Ask a question about this server's articles")
    @app_commands.describe(question="Your question, in any language",
                           since="Only articles published on or after this date (YYYY-MM-DD)",
                           until="Only articles published on or before this date (YYYY-MM-DD)",
                           private="Only you see the answer (no thread is opened)")
    @app_commands.guild_only()
    async def ask(self, interaction: discord.Interaction, question: str, since: str = "", until: str = "",
                  private: bool = False) -> None:
        if message := self._slow_down(interaction.user.id):
            await interaction.response.send_message(message, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=private)
        question = await readable_option(question, interaction.guild, self.bot.user.id if self.bot.user else 0)
        # Inside a thread, /ask is one more turn of that thread's conversation, as a typed follow-up is.
        thread_id = interaction.channel.id if isinstance(interaction.channel, discord.Thread) else None
        history = self._history(thread_id) if thread_id else None
        answer, failure = await self._answer(question, interaction.guild_id, interaction.user.id, history,
                                             since=since, until=until)
        if answer is None:
            await interaction.followup.send(failure, ephemeral=private)
            return
        first: discord.Message | None = None
        for part, view in self._messages(answer, interaction.guild_id, interaction.user.id):
            msg = await interaction.followup.send(part, wait=True, view=view, ephemeral=private)
            first = first or msg
        if private:  # a private exchange is not a turn of the thread others read
            return
        if thread_id:
            self._remember(thread_id, answer)
        elif first is not None and isinstance(interaction.channel, discord.TextChannel):
            try:
                thread = await interaction.channel.create_thread(name=_thread_name(question), message=first)
            except discord.HTTPException as exc:  # the answer stands; follow-ups go by @mention
                log.info("no thread for an answer in channel %s: %s", interaction.channel.id, exc.text or exc.status)
                return
            self._remember(thread.id, answer)

    # -- @mention and thread follow-ups ------------------------------------------------------
    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None:
            return
        channel = message.channel
        guild_id = message.guild.id if message.guild else None
        direct = guild_id is None  # a direct message: a conversation of its own, like a thread
        in_thread = isinstance(channel, discord.Thread)
        # Threads the bot opened are conversations with it; in a member's own thread it speaks
        # only when mentioned, not to every message the members exchange there.
        in_our_thread = in_thread and channel.owner_id == self.bot.user.id
        mentioned = self.bot.user in message.mentions
        if not (direct or in_our_thread or mentioned):
            return
        question = readable_question(message, self.bot.user.id)
        if not question:
            if mentioned:
                await channel.send(MENTION_HINT, reference=message, mention_author=False)
            return
        if direct and not self.bot.collections_for(None):
            await channel.send(DIRECT_MESSAGE_HINT)
            return
        if wait := self._slow_down(message.author.id):
            await channel.send(wait, reference=message, mention_author=False)
            return
        history = self._history(channel.id) if in_thread or direct else None
        target: discord.abc.Messageable = channel
        if not in_our_thread and isinstance(channel, discord.TextChannel):
            try:
                target = await message.create_thread(name=_thread_name(question))
            except discord.HTTPException as exc:  # no Create Public Threads here: answer in the channel
                log.info("no thread for a question in channel %s: %s", channel.id, exc.text or exc.status)
        async with target.typing():
            answer, failure = await self._answer(question, guild_id, message.author.id, history)
        if answer is None:
            await target.send(failure)
            return
        await self._send_answer(target, answer, guild_id, message.author.id)
        if isinstance(target, discord.Thread):
            self._remember(target.id, answer)
        elif direct:
            self._remember(channel.id, answer)

    def _history(self, thread_id: int) -> list[tuple[str, str]]:
        """The thread's earlier turns; none when their file fails (the question is still answered)."""
        try:
            return self.bot.conversations.turns(thread_id)
        except sqlite3.Error as exc:
            log.warning("thread %s: earlier turns unreadable, answering without them: %s", thread_id, exc)
            return []

    def _remember(self, thread_id: int, answer: Answer) -> None:
        try:
            self.bot.conversations.add(thread_id, answer.standalone_question or answer.question, answer.answer)
        except sqlite3.Error as exc:  # the answer is out; a follow-up will lack this turn
            log.warning("thread %s: this turn could not be kept: %s", thread_id, exc)


_PERSON = re.compile(r"<@!?(\d+)>")
# Mentioned members looked up for one /ask; more are read as "@someone" rather than held up.
MAX_LOOKUPS = 5


def readable_question(message: discord.Message, bot_id: int) -> str:
    """The message as its author read it, the bot's mention left out: other mentions, channels and
    custom emoji as their names ("what did @bob mean in #news?"), not Discord's raw "<@222>" tokens,
    which the model, the language detection and the thread's name would otherwise get."""
    people = {m.id: m.display_name for m in message.mentions}
    people.update({r.id: r.name for r in message.role_mentions})
    return readable_text(message.content, message.guild, people, bot_id)


async def readable_option(text: str, guild: discord.Guild | None, bot_id: int) -> str:
    """/ask's question as its author read it. A string option carries Discord's raw mention tokens
    and, unlike a message, not the members they name: those are looked up (from the cache, else
    one REST call each, which needs no privileged intent)."""
    people: dict[int, str] = {}
    if guild is not None:
        people.update({r.id: r.name for r in guild.roles})
        ids = list(dict.fromkeys(int(m) for m in _PERSON.findall(text) if int(m) != bot_id))
        for member_id in ids[:MAX_LOOKUPS]:
            member = guild.get_member(member_id)
            if member is None:
                try:
                    member = await guild.fetch_member(member_id)
                except discord.HTTPException as exc:  # gone from the server, or Discord busy
                    log.info("mentioned member %s not looked up: %s", member_id, exc.status)
                    continue
            people[member_id] = member.display_name
    return readable_text(text, guild, people, bot_id)


def readable_text(text: str, guild: discord.Guild | None, names: dict[int, str], bot_id: int) -> str:
    """``text`` with mention tokens as names (``names``: members' and roles' by id)."""
    text = re.sub(rf"<@!?{bot_id}>", "", text)

    def channel(match: re.Match[str]) -> str:
        found = guild.get_channel_or_thread(int(match[1])) if guild else None
        return f"#{found.name}" if found else "#channel"

    text = _PERSON.sub(lambda m: "@" + names.get(int(m[1]), "someone"), text)
    text = re.sub(r"<@&(\d+)>", lambda m: "@" + names.get(int(m[1]), "role"), text)
    text = re.sub(r"<#(\d+)>", channel, text)
    text = re.sub(r"<a?:(\w+):\d+>", r":\1:", text)
    return " ".join(text.split())


def _thread_name(question: str) -> str:
    name = " ".join(question.split())
    return (name[:95] + "…") if len(name) > 96 else (name or "question")
