"""Runs the real REPL with the fake LLM, for the pseudo-terminal tests (python -m tests.repl_fake_main)."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.repl import run_repl  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from tests.fakes import FakeScriptedLLM  # noqa: E402


def reply(prompt: str) -> str:
    if prompt.startswith("Conversation:"):
        return "Who is the UN special envoy to Libya?"
    if "envoy" in prompt.rsplit("Question: ", 1)[-1]:
        return "Martin Kobler is the envoy [1]."
    return "Fayez al-Serraj leads the unity government [1]."


if __name__ == "__main__":
    sys.exit(run_repl(Engine(Settings(), llm=FakeScriptedLLM(reply=reply)), "default"))
