"""The Discord bot: the real discord.py client against a Discord peer on loopback (tests/discord_peer.py).

The store and the embedding model are real; the LLM is a fake (named so) for exact answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.discord.app import ArticleBot, build_bot
from bot.discord.conversations import Conversations
from bot.discord.follows import FeedFollows
from retrieval.errors import NotFoundError
from tests.conftest import REPO, SAMPLE
from tests.discord_peer import DiscordPeer, Guild, Posted, user
from tests.fakes import FakeScriptedLLM
from tests.test_chroma_server import free_port, start_chroma
from tests.web_server import NewsSite, article_page, rss

pytestmark = pytest.mark.timeout(300)

ALICE = user(111, "alice")
BOB = user(222, "bob")
MACEDONIA = ("Les Macédoniens ont voté dimanche lors d'un référendum sur le changement du nom de leur pays en "
             "République de Macédoine du Nord. Le président Gjorge Ivanov a annoncé qu'il boycotterait le scrutin. "
             "La participation a été faible selon la commission électorale.")


def fake_reply(prompt: str) -> str:
    """The fake LLM's answers, chosen by the question (and, for Macedonia, by the passages shown)."""
    if prompt.startswith("Conversation:"):
        if "unity government" in prompt:
            return "Who is the UN special envoy to Libya?"
        return prompt.split("Last question: ")[-1]
    question = prompt.rsplit("Question: ", 1)[-1]
    if "explode" in question:
        raise RuntimeError("backend exploded")
    if "long answer" in question:  # seventy different sentences: a sentence said twice is said once
        return " ".join(f"Fayez al-Serraj leads the government of national unity, {how} {where}, as the article "
                        "says [1]." for how in ("clearly", "plainly", "again", "firmly", "openly", "still", "now")
                        for where in ("in Tripoli", "in Libya", "at the base", "for the UN", "for Vienna",
                                      "in the text", "in the report", "by name", "in French", "in print"))
    if "Macedonia" in question:
        return "Gjorge Ivanov boycotted the referendum [1]." if "Macédoine" in prompt else "NOT_IN_ARTICLES"
    if "envoy" in question:
        return "Martin Kobler [1]"
    return "Fayez al-Serraj leads the unity government [1]."


@contextlib.asynccontextmanager
async def running_bot(make_engine: Any, **settings: Any) -> AsyncIterator[dict[str, Any]]:
    """The bot on two servers, A holding the sample article; ``settings`` override the engine's."""
    guild_a, guild_b = Guild("500000000000000001", "A"), Guild("500000000000000002", "B")
    peer = DiscordPeer([guild_a, guild_b], heartbeat_ms=1000)
    await peer.start()
    engine = make_engine(llm=FakeScriptedLLM(reply=fake_reply), discord_api_url=peer.api_url,
                         discord_gateway_url=peer.gateway_url, discord_rate_limit_per_minute=3,
                         discord_max_concurrency=2, **settings)
    engine.ingest_paths([SAMPLE], collection=ArticleBot.guild_collection(int(guild_a.id)))
    bot = build_bot(engine.settings, engine=engine, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start("test-token-not-secret"))
    try:
        await asyncio.wait_for(peer.ready.wait(), 60)
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        yield {"peer": peer, "bot": bot, "a": guild_a, "b": guild_b, "engine": engine}
    finally:
        await bot.close()
        task.cancel()
        await peer.stop()


@pytest.fixture
async def world(make_engine) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    async with running_bot(make_engine) as bot_world:
        yield bot_world


async def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the bot"
        await asyncio.sleep(0.05)


async def ingest_attachment(peer: DiscordPeer, guild: Guild, name: str, content: str) -> None:
    """A member with Manage Server runs /ingest with ``content`` attached as ``name``."""
    attachment = peer.add_attachment(name, content.encode())
    await peer.slash(guild, BOB, "ingest", [{"name": "file", "type": 11, "value": attachment["id"]}],
                     manage_guild=True, resolved={"attachments": {attachment["id"]: attachment}})


def no_pings(posts: list[Posted]) -> None:
    for post in posts:
        assert post.payload.get("allowed_mentions", {}).get("parse") == [], post.payload


async def test_mention_gets_an_answer_with_sources_in_a_thread(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    question = await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    assert post.channel_id == question["id"]  # the thread opened on the question
    assert peer.threads[question["id"]]["name"] == "who leads the unity government?"
    assert "Fayez al-Serraj" in post.content and "**Sources**" in post.content and "libye-2016.txt" in post.content
    assert peer.typing  # the typing indicator was shown while working
    no_pings(peer.posted)


async def test_mentions_in_a_question_are_read_as_names(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    question = await peer.send_message(
        guild.channel_id, ALICE, f"<@{BOB['id']}> asked in <#{guild.channel_id}> <:libya:123456789012345678> "
        "who leads the unity government?", mention_bot=True, mentions=[BOB])
    [post] = await peer.wait_for_posts(1)
    name = peer.threads[question["id"]]["name"]
    assert name == "@bob asked in #general :libya: who leads the unity government?", name
    assert "Fayez al-Serraj" in post.content
    asked = [c for c in world["engine"].llm.calls if "Question: " in c][-1]
    assert "<@" not in asked and "<#" not in asked and "@bob asked" in asked


async def test_a_bare_mention_gets_a_hint_and_no_thread(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.send_message(guild.channel_id, ALICE, "", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    assert post.channel_id == guild.channel_id and "Mention me with your question" in post.content
    assert not peer.threads and not world["engine"].llm.calls
    no_pings(peer.posted)


async def test_slash_ask_is_deferred_then_answered(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"}])
    [post] = await peer.wait_for_posts(1)
    assert peer.callbacks[0]["type"] == 5  # deferred: acknowledged before the engine ran
    assert "Fayez al-Serraj" in post.content and "[1]" in post.content
    await until(lambda: post.id in peer.threads)  # the answer opens a thread for follow-ups
    no_pings(peer.posted)


async def test_mentions_in_an_ask_option_are_read_as_names(world) -> None:  # type: ignore[no-untyped-def]
    """A string option carries raw '<@222>' tokens and not the members they name: they are looked up."""
    peer, guild = world["peer"], world["a"]
    peer.members[BOB["id"]] = BOB
    gone = "999999999999999999"  # a member who left the server: Discord answers 404 Unknown Member
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3,
                                            "value": f"<@{BOB['id']}> and <@{gone}> asked in <#{guild.channel_id}>: "
                                                     "who leads the unity government?"}])
    [post] = await peer.wait_for_posts(1)
    assert "Fayez al-Serraj" in post.content
    asked = [c for c in world["engine"].llm.calls if "Question: " in c][-1]
    assert "@bob and @someone asked in #general: who leads" in asked and "<@" not in asked
    assert set(peer.member_lookups) == {BOB["id"], gone}
    await until(lambda: post.id in peer.threads)
    assert peer.threads[post.id]["name"].startswith("@bob and @someone asked in #general")
    no_pings(peer.posted)


async def test_a_private_ask_is_seen_by_the_asker_alone(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"},
                                           {"name": "private", "type": 5, "value": True}])
    [post] = await peer.wait_for_posts(1)
    assert peer.callbacks[0]["type"] == 5 and peer.callbacks[0]["data"]["flags"] & 64  # deferred privately
    assert "Fayez al-Serraj" in post.content and post.payload["flags"] & 64
    await asyncio.sleep(1)
    assert not peer.threads  # no thread opened on a message only one member sees


async def test_follow_up_in_the_thread_uses_the_earlier_turn(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    question = await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    await peer.wait_for_posts(1)
    await peer.send_message(question["id"], ALICE, "and who is the UN's man there?")
    posts = await peer.wait_for_posts(2, channel_id=question["id"])
    assert posts[1].content.startswith("Martin Kobler")  # the answer; the sources' quotes name him too
    condense_prompts = [c for c in world["engine"].llm.calls if c.startswith("Conversation:")]
    assert condense_prompts and "who leads the unity government?" in condense_prompts[-1]


async def test_in_a_members_own_thread_the_bot_answers_only_when_mentioned(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    thread = await peer.open_thread(guild, ALICE, "Libya chat")
    await peer.send_message(thread, ALICE, "who leads the unity government?", mention_bot=True)
    [answer] = await peer.wait_for_posts(1)
    assert answer.channel_id == thread and answer.content.startswith("Fayez al-Serraj")
    await peer.send_message(thread, BOB, "thanks, and what do you think of him?")  # members talking
    await asyncio.sleep(2)
    assert len(peer.posted) == 1
    await peer.send_message(thread, BOB, "and who is the UN's man there?", mention_bot=True)
    posts = await peer.wait_for_posts(2)
    assert posts[1].content.startswith("Martin Kobler")  # asked by mention, read with the earlier turn


async def test_a_follow_up_after_the_bot_restarts_is_read_with_the_earlier_turn(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    question = await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    await peer.wait_for_posts(1)
    await world["bot"].close()  # a deploy: the same ARTICLEBOT_HOME, a new process's bot
    bot = build_bot(world["engine"].settings, engine=world["engine"], guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start("test-token-not-secret"))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        await peer.send_message(question["id"], ALICE, "and who is the UN's man there?")
        posts = await peer.wait_for_posts(2, channel_id=question["id"])
        assert posts[1].content.startswith("Martin Kobler")  # read as "Who is the UN special envoy to Libya?"
    finally:
        await bot.close()
        task.cancel()


def test_a_thread_keeps_its_last_turns_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "conversations.sqlite3"
    first = Conversations(path, max_turns=2)
    for n in range(3):
        first.add(7, f"question {n}", f"answer {n}")
    first.add(8, "other thread", "other answer")
    first.close()
    again = Conversations(path, max_turns=2)
    assert again.turns(7) == [("question 1", "answer 1"), ("question 2", "answer 2")]
    assert again.turns(8) == [("other thread", "other answer")] and again.turns(9) == []


async def test_where_the_bot_may_not_open_threads_it_answers_in_the_channel(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    peer.threads_forbidden = True  # a server that does not give the bot Create Public Threads
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    assert post.channel_id == guild.channel_id and post.content.startswith("Fayez al-Serraj")
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"}])
    posts = await peer.wait_for_posts(2)
    await asyncio.sleep(1)
    assert len(peer.posted) == 2 and posts[1].content.startswith("Fayez al-Serraj")  # and no error after it
    assert not peer.threads


async def test_a_direct_message_is_answered_from_the_shared_collection_only(make_engine) -> None:  # type: ignore[no-untyped-def]
    dm_channel = "700000000000000001"  # a channel of no server: a direct message
    async with running_bot(make_engine) as world:  # no shared collection: nothing to answer from
        await world["peer"].send_message(dm_channel, ALICE, "who leads the unity government?")
        [hint] = await world["peer"].wait_for_posts(1)
        assert hint.channel_id == dm_channel and "ask me in a server" in hint.content
    async with running_bot(make_engine, discord_shared_collection="shared-news") as world:
        peer = world["peer"]
        world["engine"].ingest_paths([SAMPLE], collection="shared-news")
        await peer.send_message(dm_channel, ALICE, "who leads the unity government?")
        [answer] = await peer.wait_for_posts(1)
        assert answer.channel_id == dm_channel and answer.content.startswith("Fayez al-Serraj")
        await peer.send_message(dm_channel, ALICE, "and who is the UN's man there?")
        posts = await peer.wait_for_posts(2)
        assert posts[1].content.startswith("Martin Kobler")  # read with the earlier turn, as in a thread
        no_pings(peer.posted)


async def test_slash_ask_in_the_answers_thread_continues_its_conversation(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    question = await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    await peer.wait_for_posts(1)
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "and who is the UN's man there?"}],
                     thread_id=question["id"])
    posts = await peer.wait_for_posts(2)
    assert posts[1].channel_id == question["id"] and posts[1].content.startswith("Martin Kobler")
    assert [q for q, _ in world["bot"].conversations.turns(int(question["id"]))] == [
        "who leads the unity government?", "Who is the UN special envoy to Libya?"]


async def test_a_long_answer_is_split_cleanly(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.send_message(guild.channel_id, ALICE, "give me a long answer about the unity government",
                            mention_bot=True)
    await peer.wait_for_posts(3)
    await asyncio.sleep(1)
    posts = peer.posted
    assert len(posts) >= 3
    assert all(len(p.content) <= 2000 for p in posts)
    for p in posts:
        assert not re.search(r"\[\d*$", p.content) and not re.match(r"^\d*\]", p.content)
    assert "**Sources**" in posts[-1].content
    assert posts[-1].payload.get("components")  # the feedback buttons sit under the last part only
    assert not any(p.payload.get("components") for p in posts[:-1])


async def test_help_says_how_to_ask_and_what_this_server_holds(world) -> None:  # type: ignore[no-untyped-def]
    peer = world["peer"]
    await peer.slash(world["a"], ALICE, "help", [])
    [member_view] = await peer.wait_for_posts(1)
    assert "/ask" in member_view.content and "any language" in member_view.content
    assert "This server has 1 article." in member_view.content and "/ingest" not in member_view.content
    assert member_view.payload["flags"] & 64  # only the member who asked sees it
    await peer.slash(world["b"], BOB, "help", [], manage_guild=True)
    posts = await peer.wait_for_posts(2)
    assert "This server has 0 articles." in posts[1].content and "/follow" in posts[1].content


async def test_ingest_is_refused_to_members_without_manage_server(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["b"]
    await peer.slash(guild, BOB, "ingest", [{"name": "url", "type": 3, "value": "https://example.org/a"}])
    await until(lambda: peer.callbacks)
    [callback] = peer.callbacks
    assert callback["type"] == 4 and "Manage Server" in callback["data"]["content"]
    assert callback["data"]["flags"] & 64  # only the member sees the refusal
    assert "guild-" + guild.id not in world["engine"].store.collection_names()


async def test_ingest_given_a_file_and_a_url_takes_both(make_engine) -> None:  # type: ignore[no-untyped-def]
    site = NewsSite()
    site.html("/libye", article_page("Libye : le gouvernement d'union à Tripoli", [
        "Le gouvernement d'union nationale de Fayez al-Serraj s'est installé à Tripoli, dans une base navale, "
        "sous la protection de forces loyales. Les Nations unies soutiennent ce gouvernement."]))
    try:
        async with running_bot(make_engine, allow_private_urls=True) as bot_world:
            peer, guild = bot_world["peer"], bot_world["b"]
            attachment = peer.add_attachment("macedoine.txt", ("Référendum en Macédoine\n" + MACEDONIA).encode())
            await peer.slash(guild, BOB, "ingest", [{"name": "file", "type": 11, "value": attachment["id"]},
                                                   {"name": "url", "type": 3, "value": site.url("/libye")}],
                             manage_guild=True, resolved={"attachments": {attachment["id"]: attachment}})
            [report] = await peer.wait_for_posts(1)
            assert "Ingested 2" in report.content  # the URL was dropped when a file came with it
            titles = sorted(s.title for s in bot_world["engine"].sources(f"guild-{guild.id}"))
            assert titles == ["Libye : le gouvernement d'union à Tripoli", "Référendum en Macédoine"]
    finally:
        site.close()


async def test_admin_attachment_is_ingested_then_answered_from_and_stays_in_its_server(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild_a, guild_b = world["peer"], world["a"], world["b"]
    await ingest_attachment(peer, guild_b, "../../etc/macedoine.txt", "Référendum en Macédoine\n" + MACEDONIA)
    [report] = await peer.wait_for_posts(1)
    assert "Ingested 1" in report.content
    [source] = world["engine"].sources(f"guild-{guild_b.id}")
    assert source.id == f"discord:{guild_b.id}/macedoine.txt"  # the path in the file name is ignored

    await peer.send_message(guild_b.channel_id, BOB, "Who boycotted the Macedonia referendum?", mention_bot=True)
    posts = await peer.wait_for_posts(2)
    assert "Gjorge Ivanov" in posts[1].content and "macedoine.txt" in posts[1].content

    await peer.send_message(guild_a.channel_id, ALICE, "Who boycotted the Macedonia referendum?", mention_bot=True)
    posts = await peer.wait_for_posts(3)
    assert "macedoine.txt" not in posts[2].content and "Gjorge Ivanov" not in posts[2].content


async def test_whats_new_lists_this_server_s_articles_and_a_follow_up_reads_the_one_meant(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild_a, guild_b = world["peer"], world["a"], world["b"]
    await ingest_attachment(peer, guild_b, "macedoine.txt", "Référendum en Macédoine\n" + MACEDONIA)
    await peer.wait_for_posts(1)
    question = await peer.send_message(guild_b.channel_id, BOB, "What's new?", mention_bot=True)
    listing = (await peer.wait_for_posts(2))[1]
    assert listing.content.startswith("The latest articles:") and "Référendum en Macédoine" in listing.content
    assert "libye" not in listing.content  # server A's article
    await peer.send_message(question["id"], BOB, "Tell me more about the first one.")
    posts = await peer.wait_for_posts(2, channel_id=question["id"])
    assert "macedoine.txt" in posts[1].content and "libye" not in posts[1].content
    drafted = [c for c in world["engine"].llm.calls if c.startswith("Excerpts:")]
    assert "Référendum en Macédoine" in drafted[-1] and "libye" not in drafted[-1]

    await peer.send_message(guild_a.channel_id, ALICE, "Quoi de neuf ?", mention_bot=True)
    posts = await peer.wait_for_posts(4)
    assert posts[-1].content.startswith("Les derniers articles :") and "Macédoine" not in posts[-1].content
    no_pings(peer.posted)


async def test_an_attachment_is_read_in_the_charset_discord_gives_it(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild, engine = world["peer"], world["a"], world["engine"]
    text = ("Štátny rozpočet schválený\nVláda v pondelok schválila návrh zákona o štátnom rozpočte, ktorý podľa "
            "ministra financií zníži deficit. Opozícia kritizuje, že nepočíta so zvýšením platov učiteľov.")
    attachment = peer.add_attachment("rozpocet.txt", text.encode("iso-8859-2"), "text/plain; charset=ISO-8859-2")
    await peer.slash(guild, BOB, "ingest", [{"name": "file", "type": 11, "value": attachment["id"]}],
                     manage_guild=True, resolved={"attachments": {attachment["id"]: attachment}})
    await peer.wait_for_posts(1)
    titles = [s.title for s in engine.sources(ArticleBot.guild_collection(int(guild.id)))]
    assert "Štátny rozpočet schválený" in titles, titles  # guessed, it read "©tátny"


async def test_other_members_are_answered_while_an_attachment_is_read(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Reading a large file (seconds for megabytes of HTML) must not hold up the rest of the server."""
    import threading

    from bot.discord.cogs import admin

    peer, guild = world["peer"], world["a"]
    reading, may_finish = threading.Event(), threading.Event()
    real_load = admin.load_bytes

    def slow_load(data: bytes, name: str, source: str, **options: Any) -> Any:
        reading.set()
        may_finish.wait(timeout=20)  # on the event loop, this wait would freeze the bot for 20 s
        return real_load(data, name, source, **options)

    monkeypatch.setattr(admin, "load_bytes", slow_load)
    await ingest_attachment(peer, guild, "macedoine.txt", "Référendum en Macédoine\n" + MACEDONIA)
    await until(reading.is_set)
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [answer] = await peer.wait_for_posts(1)
    may_finish.set()
    posts = await peer.wait_for_posts(2)
    assert "Fayez al-Serraj" in answer.content and "Ingested 1" in posts[1].content


async def test_a_feedback_click_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    buttons = [c for row in post.payload["components"] for c in row["components"]]
    up = next(b["custom_id"] for b in buttons if b["custom_id"].startswith("fb:up:"))
    await peer.click(guild, BOB, post, up)
    await until(lambda: peer.callbacks)
    assert "Thanks" in peer.callbacks[0]["data"]["content"]
    [vote] = world["bot"].feedback.votes()
    assert vote["vote"] == "up" and vote["question"] == "who leads the unity government?"
    assert "Fayez al-Serraj" in vote["answer"] and vote["prompt"] == "answer" and vote["sources"]


async def test_a_failing_feedback_log_costs_the_vote_buttons_never_the_answer(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild, bot = world["peer"], world["a"], world["bot"]
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    up = next(c["custom_id"] for row in post.payload["components"] for c in row["components"]
              if c["custom_id"].startswith("fb:up:"))
    bot.feedback.close()  # as a full disk or a damaged file fails it: every statement raises
    bot.conversations.close()
    await peer.click(guild, BOB, post, up)
    await until(lambda: peer.callbacks)
    assert "could not be saved" in peer.callbacks[0]["data"]["content"]
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"}])
    answers = await peer.wait_for_posts(2)
    assert answers[1].content.startswith("Fayez al-Serraj") and not answers[1].payload.get("components")
    await peer.send_message(post.channel_id, ALICE, "who is the UN envoy?")  # in the thread: its turns unreadable
    follow_up = await peer.wait_for_posts(3)
    assert follow_up[2].content.startswith("Martin Kobler")  # answered all the same, without them


async def test_an_llm_failure_is_reported_and_the_next_question_answered(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.send_message(guild.channel_id, ALICE, "please explode: who leads the unity government?",
                            mention_bot=True)
    [failure] = await peer.wait_for_posts(1)
    assert "language model is not answering" in failure.content and "Traceback" not in failure.content
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    posts = await peer.wait_for_posts(2)
    assert "Fayez al-Serraj" in posts[1].content


async def test_a_bug_is_logged_with_its_traceback_a_known_failure_in_one_line(
        world, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    peer, guild, engine = world["peer"], world["a"], world["engine"]
    real_ask = engine.ask

    def buggy_ask(question: str, *args: Any, **kwargs: Any) -> Any:
        if "bug" in question:
            return {}["no such key"]
        return real_ask(question, *args, **kwargs)
    monkeypatch.setattr(engine, "ask", buggy_ask)
    with caplog.at_level(logging.WARNING, logger="bot.discord.cogs.ask"):
        await peer.send_message(guild.channel_id, ALICE, "a bug: who leads the unity government?", mention_bot=True)
        await peer.send_message(guild.channel_id, BOB, "please explode: who leads?", mention_bot=True)
        posts = await peer.wait_for_posts(2)
    assert sorted("went wrong on my side" in p.content for p in posts) == [False, True]
    bug, known = sorted((r for r in caplog.records if r.message.startswith("question failed")),
                        key=lambda r: "KeyError" not in r.message)
    assert bug.exc_info and bug.exc_info[0] is KeyError  # where the bug is, for whoever fixes it
    assert "LLMError" in known.message and not known.exc_info  # the model down: one line is enough
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    assert "Fayez al-Serraj" in (await peer.wait_for_posts(3))[2].content


async def test_a_chroma_server_that_goes_away_is_reported_and_the_bot_answers_once_it_is_back(
        make_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_chroma(tmp_path / "chroma-server", port)
    try:
        async with running_bot(make_engine, chroma_url=f"http://127.0.0.1:{port}") as world:
            peer, guild = world["peer"], world["a"]
            server.terminate()
            server.wait(timeout=30)
            await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
            await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who is the envoy?"}])
            await peer.slash(guild, BOB, "sources", [], manage_guild=True)
            await peer.slash(guild, ALICE, "help", [])  # not "This server has 0 articles"
            failures = await peer.wait_for_posts(4)
            assert all("article store is not reachable" in p.content for p in failures), failures
            server = start_chroma(tmp_path / "chroma-server", port)
            await peer.send_message(guild.channel_id, BOB, "who leads the unity government?", mention_bot=True)
            posts = await peer.wait_for_posts(5)
            assert "Fayez al-Serraj" in posts[4].content and "libye-2016.txt" in posts[4].content
            no_pings(peer.posted)
    finally:
        server.terminate()
        server.wait(timeout=30)


async def test_the_bot_reconnects_after_the_gateway_drops(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.drop_connection()
    await asyncio.wait_for(peer.ready.wait(), 60)
    assert peer.resumes + peer.identifies >= 2
    await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    [post] = await peer.wait_for_posts(1)
    assert "Fayez al-Serraj" in post.content


async def test_the_rate_limit_answers_kindly(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    for _ in range(4):
        await peer.send_message(guild.channel_id, ALICE, "who leads the unity government?", mention_bot=True)
    await peer.wait_for_posts(4)
    await asyncio.sleep(1)
    assert sum("please wait" in p.content for p in peer.posted) == 1
    assert sum("Fayez al-Serraj" in p.content for p in peer.posted) == 3


async def test_twenty_questions_at_once_are_all_answered_while_heartbeats_stay_on_time(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]

    def slow_reply(prompt: str) -> str:  # each model call takes 0.2 s of a worker thread
        time.sleep(0.2)
        return fake_reply(prompt)

    world["engine"].llm.reply = slow_reply
    await asyncio.sleep(2.5)  # let heartbeats start
    start = len(peer.heartbeats) - 1
    began = time.monotonic()
    await asyncio.gather(*(
        peer.send_message(guild.channel_id, user(1000 + i, f"user{i}"), "who leads the unity government?",
                          mention_bot=True) for i in range(20)))
    posts = await peer.wait_for_posts(20, timeout=240)
    took = time.monotonic() - began
    assert all("Fayez al-Serraj" in p.content for p in posts)
    assert len({p.channel_id for p in posts}) == 20  # one thread each, none lost
    await asyncio.sleep(1.2)  # one more heartbeat after the load
    beats = peer.heartbeats[start:]
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    assert took > 2 and len(gaps) >= 3
    assert max(gaps) < 1.5 * peer.heartbeat_ms / 1000, gaps


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.mark.slow
async def test_load_100_questions_from_20_users_none_lost(world) -> None:  # type: ignore[no-untyped-def]
    """Each of 20 users asks 5 questions at once (the rate limit is 3 a minute here): every question
    is answered or told to wait, none is lost, heartbeats stay on time, memory stays bounded."""
    peer, guild = world["peer"], world["a"]

    def working_reply(prompt: str) -> str:
        time.sleep(0.05)
        return fake_reply(prompt)

    world["engine"].llm.reply = working_reply
    await asyncio.sleep(2.5)
    start_beat = len(peer.heartbeats) - 1
    before = rss_mb()
    began = time.monotonic()
    await asyncio.gather(*(
        peer.send_message(guild.channel_id, user(2000 + u, f"user{u}"), f"who leads the unity government? ({q})",
                          mention_bot=True) for u in range(20) for q in range(5)))
    posts = await peer.wait_for_posts(100, timeout=280)
    took = time.monotonic() - began
    answered = sum("Fayez al-Serraj" in p.content for p in posts)
    told_to_wait = sum("please wait" in p.content for p in posts)
    assert answered + told_to_wait == 100 == len(posts)
    assert answered == 60 and told_to_wait == 40  # 3 a minute for each of the 20 users
    await asyncio.sleep(1.2)
    beats = peer.heartbeats[start_beat:]
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False)]
    growth = rss_mb() - before
    print(f"\nload: 100 questions from 20 users in {took:.1f} s; {answered} answered, {told_to_wait} told to wait; "
          f"max heartbeat gap {max(gaps):.2f} s (interval 1.0 s); RSS {before:.0f} MB -> {rss_mb():.0f} MB")
    assert max(gaps) < 1.5
    assert growth < 300


def test_the_token_never_reaches_the_logs(cli_env: dict[str, str]) -> None:
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**cli_env, "ARTICLEBOT_DISCORD_TOKEN": "SECRET-TOKEN-123", "ARTICLEBOT_OPENAI_API_KEY": "SECRET-KEY-456",
           "ARTICLEBOT_DISCORD_API_URL": "http://127.0.0.1:9/api/v10"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "-v", "discord"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.strip()
    assert "SECRET-TOKEN-123" not in result.stdout + result.stderr
    assert "SECRET-KEY-456" not in result.stdout + result.stderr


def test_the_bot_does_not_start_with_a_template_every_question_needs_broken(cli_env: dict[str, str]) -> None:
    """Else it would connect and tell each member who asks about a file only its operator can fix."""
    import subprocess
    import sys

    from tests.conftest import REPO

    prompts = Path(cli_env["ARTICLEBOT_HOME"]) / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "verify.toml").write_text('name = "verify"\nkind = "verify"\ntemplate = "P: {passage}"\n')
    (prompts / "mine.toml").write_text('name = "mine"\ntemplate = "{question}"\n')  # chosen by no one yet
    env = {**cli_env, "ARTICLEBOT_DISCORD_TOKEN": "token", "ARTICLEBOT_DISCORD_API_URL": "http://127.0.0.1:9/api/v10"}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "discord"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("verify.toml: the template lacks the variable {answer}")

    (prompts / "verify.toml").unlink()  # now only a template no question uses is broken: the bot starts
    result = subprocess.run([sys.executable, "-m", "bot.cli", "discord"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "cannot reach Discord" in result.stderr
    assert "mine.toml: the template lacks the variable {context}" in result.stderr  # logged, not fatal


async def test_admin_sources_and_forget(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.slash(guild, ALICE, "sources", [], manage_guild=True)
    [listing] = await peer.wait_for_posts(1)
    source_id = str(SAMPLE.resolve())
    assert f"`{source_id}`" in listing.content and "libye 2016" in listing.content
    assert listing.payload["flags"] & 64  # only the admin sees it
    await peer.slash(guild, ALICE, "forget", [{"name": "source_id", "type": 3, "value": source_id}],
                     manage_guild=True)
    posts = await peer.wait_for_posts(2)
    assert "Removed" in posts[1].content
    assert world["engine"].sources(f"guild-{guild.id}") == []
    await peer.slash(guild, BOB, "forget", [{"name": "source_id", "type": 3, "value": source_id}])
    await until(lambda: len(peer.callbacks) >= 3)
    assert "Manage Server" in peer.callbacks[-1]["data"]["content"]


async def test_a_long_source_list_comes_as_one_attached_file(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["b"]
    folder = tmp_path / "feed"
    folder.mkdir()
    for i in range(150):
        (folder / f"depeche-{i:03d}.txt").write_text(f"Dépêche {i}\n\nLe conseil municipal a voté le budget {i}.\n",
                                                     encoding="utf-8")
    world["engine"].ingest_paths([folder], collection=f"guild-{guild.id}")
    await peer.slash(guild, BOB, "sources", [], manage_guild=True)
    [listing] = await peer.wait_for_posts(1)
    await asyncio.sleep(1)
    assert len(peer.posted) == 1  # not the dozen messages 150 lines would take
    assert "150 articles" in listing.content and listing.payload["flags"] & 64
    lines = listing.payload["files"]["sources.txt"].decode("utf-8").splitlines()
    assert {line.split(" — ")[1].split(" (")[0] for line in lines} == {f"Dépêche {i}" for i in range(150)}


async def test_forget_suggests_this_servers_articles_to_admins_only(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild_a, guild_b = world["peer"], world["a"], world["b"]
    await ingest_attachment(peer, guild_b, "macedoine.txt", "Référendum en Macédoine\n" + MACEDONIA)
    await ingest_attachment(peer, guild_b, "budget.txt", "Le budget de Skopje\n" + MACEDONIA.replace("Ivanov", "Zaev"))
    await peer.wait_for_posts(2)

    async def suggest(guild: Guild, typed: str, manage_guild: bool = True) -> list[dict[str, str]]:
        """The choices Discord would show while a member types ``typed`` into /forget's source_id."""
        asked = len(peer.callbacks)
        option = {"name": "source_id", "type": 3, "value": typed, "focused": True}
        await peer.slash(guild, BOB, "forget", [option], manage_guild=manage_guild, interaction_type=4)
        await until(lambda: len(peer.callbacks) > asked)
        callback = peer.callbacks[asked]
        assert callback["type"] == 8  # an autocomplete result
        return list(callback["data"]["choices"])

    assert await suggest(guild_b, "macéd") == [{"name": "Référendum en Macédoine",
                                                "value": f"discord:{guild_b.id}/macedoine.txt"}]
    assert {c["value"] for c in await suggest(guild_b, "")} == {f"discord:{guild_b.id}/macedoine.txt",
                                                                f"discord:{guild_b.id}/budget.txt"}
    assert await suggest(guild_a, "macéd") == []  # server A holds only the Libya article
    assert await suggest(guild_b, "macéd", manage_guild=False) == []


async def test_a_followed_feed_brings_its_new_items_until_unfollowed(make_engine) -> None:  # type: ignore[no-untyped-def]
    site = NewsSite()
    site.html("/a1", article_page("Budget de Skopje", ["Le conseil municipal de Skopje a voté le budget de la "
                                                        "ville pour l'année prochaine, après un long débat."]))
    site.html("/a2", article_page("Référendum en Macédoine", [MACEDONIA]))
    site.html("/a3", article_page("Météo", ["Il pleuvra demain sur toute la Macédoine du Nord, selon les prévisions."]))
    items = [("Budget de Skopje", site.url("/a1"), "Fri, 28 Sep 2018 10:00:00 GMT")]
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    feed = site.url("/feed")
    try:
        async with running_bot(make_engine, allow_private_urls=True, discord_feed_poll_minutes=0.01,
                               discord_max_feeds_per_server=1) as world:
            peer, guild = world["peer"], world["b"]
            collection = f"guild-{guild.id}"

            def stored_titles() -> set[str]:
                return {s.title for s in world["engine"].sources(collection)}

            await peer.slash(guild, ALICE, "follow", [{"name": "url", "type": 3, "value": feed}])
            await until(lambda: peer.callbacks)
            assert "Manage Server" in peer.callbacks[0]["data"]["content"] and "/feed" not in site.hits
            await peer.slash(guild, BOB, "follow", [{"name": "url", "type": 3, "value": site.url("/a1")}],
                             manage_guild=True)
            [not_a_feed] = await peer.wait_for_posts(1)
            assert "not an RSS or Atom feed" in not_a_feed.content
            await peer.slash(guild, BOB, "follow", [{"name": "url", "type": 3, "value": feed}], manage_guild=True)
            posts = await peer.wait_for_posts(2)
            assert "Following" in posts[1].content and "Ingested 1" in posts[1].content
            assert FeedFollows(world["engine"].settings.discord_feeds_path).of(int(guild.id)) == [feed]  # on disk
            await peer.slash(guild, BOB, "follow", [{"name": "url", "type": 3, "value": site.url("/other")}],
                             manage_guild=True)
            posts = await peer.wait_for_posts(3)
            assert "already follows 1 feed," in posts[2].content and "/other" not in site.hits

            site.routes["/feed"] = (500, {"Content-Type": "text/plain"}, b"down for maintenance")
            polls = site.hits["/feed"]
            await until(lambda: site.hits["/feed"] >= polls + 2)  # failing polls are logged, and polling goes on
            items.append(("Référendum en Macédoine", site.url("/a2"), "Sun, 30 Sep 2018 18:00:00 GMT"))
            site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
            await until(lambda: "Référendum en Macédoine" in stored_titles(), timeout=60)
            await peer.send_message(guild.channel_id, ALICE, "Who boycotted the Macedonia referendum?",
                                    mention_bot=True)
            posts = await peer.wait_for_posts(4)
            assert "Gjorge Ivanov" in posts[3].content and site.url("/a2") in posts[3].content
            assert site.hits["/a1"] == 2  # the unchanged item was not fetched again at each poll

            def last_reply() -> str:
                return str(peer.callbacks[-1].get("data", {}).get("content", ""))

            await peer.slash(guild, BOB, "feeds", [], manage_guild=True)
            await until(lambda: feed in last_reply())
            await peer.slash(guild, BOB, "unfollow", [{"name": "url", "type": 3, "value": feed}], manage_guild=True)
            await until(lambda: "Stopped following" in last_reply())
            await asyncio.sleep(1.5)  # a poll that read the list before the unfollow ends meanwhile
            polls = site.hits["/feed"]
            items.append(("Météo", site.url("/a3"), "Mon, 01 Oct 2018 06:00:00 GMT"))
            site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
            await asyncio.sleep(3)  # five poll intervals
            assert site.hits["/feed"] == polls and "/a3" not in site.hits
            assert "Référendum en Macédoine" in stored_titles()  # unfollowing keeps what was ingested
    finally:
        site.close()


async def test_following_a_feed_that_takes_long_to_read_is_answered_in_time(make_engine) -> None:  # type: ignore[no-untyped-def]
    """A large feed of slow pages outlasted the 15 minutes Discord keeps an interaction: the answer
    was lost. /follow now answers once it has waited its while; the items keep arriving."""
    site = NewsSite()

    def slow_page() -> bytes:
        time.sleep(3)  # as a slow site serves each of a hundred items
        return article_page("Référendum en Macédoine", [MACEDONIA]).encode()

    site.routes["/slow"] = (200, {"Content-Type": "text/html; charset=utf-8"}, slow_page)
    site.routes["/feed"] = (200, {"Content-Type": "application/rss+xml"},
                            rss([("Référendum en Macédoine", site.url("/slow"), "Sun, 30 Sep 2018 18:00:00 GMT")]))
    try:
        async with running_bot(make_engine, allow_private_urls=True) as world:
            peer, guild = world["peer"], world["b"]
            world["bot"].get_cog("FeedsCog").first_read_wait_s = 1.0
            await peer.slash(guild, BOB, "follow", [{"name": "url", "type": 3, "value": site.url("/feed")}],
                             manage_guild=True)
            [reply] = await peer.wait_for_posts(1)
            assert "Following" in reply.content and "still being read" in reply.content
            assert FeedFollows(world["engine"].settings.discord_feeds_path).of(int(guild.id)) == [site.url("/feed")]

            def arrived() -> bool:
                try:
                    titles = {s.title for s in world["engine"].sources(f"guild-{guild.id}")}
                    return "Référendum en Macédoine" in titles
                except NotFoundError:  # no article yet: the collection is made with the first
                    return False
            await until(arrived, timeout=60)
    finally:
        site.close()


async def test_the_feed_poller_outlives_a_failure_of_its_follow_list(make_engine) -> None:  # type: ignore[no-untyped-def]
    async with running_bot(make_engine, discord_feed_poll_minutes=0.005) as world:
        calls: list[int] = []

        def flaky_list() -> list[tuple[int, str]]:
            calls.append(1)
            if len(calls) == 1:
                raise OSError("disk I/O error")
            return []

        world["bot"].follows.all = flaky_list
        await until(lambda: len(calls) >= 3)  # the poll after the failure, and the one after that


async def test_slash_ask_with_a_time_filter(world) -> None:  # type: ignore[no-untyped-def]
    peer, guild = world["peer"], world["a"]
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"},
                                           {"name": "until", "type": 3, "value": "2015-12-31"}])
    [post] = await peer.wait_for_posts(1)
    assert "no articles" not in post.content and "Sources" not in post.content  # the sample is undated: filtered out
    await peer.slash(guild, ALICE, "ask", [{"name": "question", "type": 3, "value": "who leads the unity government?"},
                                           {"name": "since", "type": 3, "value": "not a date"}])
    posts = await peer.wait_for_posts(2)
    assert "cannot read the date" in posts[1].content


async def articlebot_discord(env: dict[str, str]) -> tuple[int | None, str]:
    """``articlebot discord`` as a user runs it, in a child process; (exit status, stderr)."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "discord", cwd=REPO, env=env,
                                                 stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(child.communicate(), 120)
    return child.returncode, err.decode()


async def test_a_first_setup_gone_wrong_ends_with_one_line_saying_what_to_do(cli_env) -> None:  # type: ignore[no-untyped-def]
    peer = DiscordPeer([Guild("500000000000000001", "A")])
    await peer.start()
    peer.token = "the-right-token"
    env = {**cli_env, "ARTICLEBOT_DISCORD_API_URL": peer.api_url, "ARTICLEBOT_DISCORD_GATEWAY_URL": peer.gateway_url}
    try:
        status, err = await articlebot_discord({**env, "ARTICLEBOT_DISCORD_TOKEN": "a-mistyped-token-x9"})
        assert status == 2 and "a-mistyped-token-x9" not in err, err
        [line] = err.strip().splitlines()  # nothing else: no traceback, no warnings about voice
        assert line.startswith("articlebot: Discord refused ARTICLEBOT_DISCORD_TOKEN")
        peer.refuse_intents = True  # the Message Content intent is off in the developer portal
        status, err = await articlebot_discord({**env, "ARTICLEBOT_DISCORD_TOKEN": "the-right-token"})
        assert status == 2 and "Traceback" not in err, err
        assert "enable it under Bot → Privileged Gateway Intents" in err.strip().splitlines()[-1]
    finally:
        await peer.stop()
    nowhere = f"http://127.0.0.1:{free_port()}/api/v10"
    status, err = await articlebot_discord({**env, "ARTICLEBOT_DISCORD_API_URL": nowhere,
                                            "ARTICLEBOT_DISCORD_TOKEN": "the-right-token"})
    assert status == 1 and "Traceback" not in err, err
    assert f"cannot reach Discord at {nowhere}" in err.strip().splitlines()[-1]
