"""The OpenAI-compatible backend's Yes/No checks: the relevance judge and the support check read
P("Yes") from the server's log-probabilities, so their thresholds hold as with the local model.
The server is a loopback fake (fixed replies, real HTTP, the real ChatOpenAI client)."""

from __future__ import annotations

import pytest
from langchain_core.messages import BaseMessage

from retrieval.engine import Engine
from retrieval.errors import LLMError
from retrieval.llm.backends import build_chat_model, yes_probability
from retrieval.prompt_templates import PromptLibrary
from retrieval.settings import Settings
from tests.conftest import SAMPLE
from tests.llm_server import FakeOpenAIServer


@pytest.fixture
def remote(settings: Settings, llm_server: FakeOpenAIServer) -> Settings:
    return settings.model_copy(update={"llm_backend": "openai", "openai_base_url": llm_server.url,
                                       "llm_timeout_s": 5.0})


def judge_messages() -> list[BaseMessage]:
    return PromptLibrary().get("judge", kind="judge").messages(
        passage="Fayez al-Serraj dirige le gouvernement d'union.", question="Who leads the unity government?")


@pytest.mark.parametrize("p_yes", [0.9, 0.6, 0.3])
def test_fake_openai_server_p_yes_comes_from_its_log_probabilities(
        remote: Settings, llm_server: FakeOpenAIServer, p_yes: float) -> None:
    llm_server.p_yes = p_yes
    assert yes_probability(build_chat_model(remote), judge_messages()) == pytest.approx(p_yes)
    assert len(llm_server.requests) == 1
    assert llm_server.requests[0]["logprobs"] is True and llm_server.requests[0]["top_logprobs"] >= 5


@pytest.mark.parametrize(("logprobs", "calls"), [("refused", 2), ("ignored", 1)])
@pytest.mark.parametrize(("p_yes", "expected"), [(0.7, 1.0), (0.3, 0.0)])
def test_fake_openai_server_without_log_probabilities_is_read_from_its_reply(
        remote: Settings, llm_server: FakeOpenAIServer, logprobs: str, calls: int, p_yes: float,
        expected: float) -> None:
    """A server that refuses the option (HTTP 400) is asked again without it; one that leaves the
    log-probabilities out has its "Yes" or "No" read as it is."""
    llm_server.logprobs, llm_server.p_yes = logprobs, p_yes
    assert yes_probability(build_chat_model(remote), judge_messages()) == expected
    assert len(llm_server.requests) == calls
    assert "logprobs" not in llm_server.requests[-1] or logprobs == "ignored"


def test_fake_openai_server_that_fails_gives_one_clear_error(remote: Settings, llm_server: FakeOpenAIServer) -> None:
    llm_server.mode = "500"
    with pytest.raises(LLMError) as info:
        yes_probability(build_chat_model(remote), judge_messages())
    assert str(info.value).startswith(f"the language model at {llm_server.url} failed") and "\n" not in str(info.value)


def test_an_llm_server_that_cannot_be_reached_is_named_without_its_password(remote: Settings) -> None:
    from tests.test_chroma_server import free_port

    url = f"http://user:s3cret@127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMError) as info:
        yes_probability(build_chat_model(remote.model_copy(update={"openai_base_url": url})), judge_messages())
    message = str(info.value)
    assert url.replace("user:s3cret@", "") in message and "s3cret" not in message, message


def test_fake_openai_server_judge_threshold_holds_when_its_reply_says_yes(
        remote: Settings, llm_server: FakeOpenAIServer) -> None:
    """The server says "Yes" at P 0.6: below the judge's 0.65, the bot abstains, as it would with
    the local model; read from the text alone, every "Yes" passed."""
    engine = Engine(remote)
    engine.ingest_paths([SAMPLE])
    llm_server.p_yes = 0.6
    doubtful = engine.ask("Who is the UN special envoy to Libya?")
    assert doubtful.abstained and "relevance" in doubtful.reason
    assert doubtful.checks["judge"] and max(doubtful.checks["judge"]) == pytest.approx(0.6, abs=1e-3)
    llm_server.p_yes = 0.95
    sure = engine.ask("Who is the UN special envoy to Libya?")
    assert not sure.abstained and "Martin Kobler" in sure.answer
    assert sure.checks["verify"] == pytest.approx(0.95, abs=1e-3)


# A thinking model's reasoning, which mentions the refusal marker on its way to an answer.
THOUGHTS = "The passage names who leads. Should I reply NOT_IN_ARTICLES? No, it answers the question."


@pytest.mark.parametrize("p_yes", [0.9, 0.6])
def test_fake_thinking_server_p_yes_is_read_after_its_reasoning(
        remote: Settings, llm_server: FakeOpenAIServer, p_yes: float) -> None:
    """A thinking model's first token is "<think>": its faint "No" alternative is not the answer."""
    llm_server.thinking, llm_server.p_yes = THOUGHTS, p_yes
    assert yes_probability(build_chat_model(remote), judge_messages()) == pytest.approx(p_yes)
    llm_server.logprobs = "ignored"
    assert yes_probability(build_chat_model(remote), judge_messages()) == 1.0


# Qwen3 opens its reasoning on a line of its own; a smaller model may close it on the first line.
@pytest.mark.parametrize("thoughts", ["\n" + THOUGHTS + "\n", THOUGHTS])
def test_fake_thinking_server_answers_without_showing_its_reasoning(
        remote: Settings, llm_server: FakeOpenAIServer, thoughts: str) -> None:
    engine = Engine(remote)
    engine.ingest_paths([SAMPLE])
    llm_server.thinking, llm_server.p_yes = thoughts, 0.95
    answer = engine.ask("Who is the UN special envoy to Libya?")
    assert not answer.abstained and answer.answer.startswith("Martin Kobler [1]"), answer.answer
    assert "think" not in answer.answer and answer.sources[0].title == "libye 2016"
    # the translation for the keyword search stops at its first line, which ends inside the reasoning
    # or right after it, so it is asked for again
    first, again = next((r, llm_server.requests[i + 1]) for i, r in enumerate(llm_server.requests) if r.get("stop"))
    assert again["messages"] == first["messages"] and not again.get("stop")


def test_fake_thinking_server_that_runs_out_of_tokens_says_what_to_change(
        remote: Settings, llm_server: FakeOpenAIServer) -> None:
    engine = Engine(remote.model_copy(update={"llm_max_tokens": 64}))
    engine.ingest_paths([SAMPLE])
    llm_server.thinking = "hmm " * 100
    with pytest.raises(LLMError) as info:
        engine.ask("Who is the UN special envoy to Libya?")
    assert "ARTICLEBOT_LLM_MAX_TOKENS" in str(info.value) and "\n" not in str(info.value)
