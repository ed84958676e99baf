"""The one fake in the test suite: an LLM with scripted replies, for deterministic answers."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult


class FakeScriptedLLM(BaseChatModel):
    """A fake LLM for deterministic tests: Yes/No checks get ``verdict``, questions get ``reply``.

    ``reply`` may be a function of the last user message (the rendered prompt).
    """

    reply: Any = "Fayez al-Serraj [1]"
    verdict: Any = "Yes"
    rewrite: Any = None  # replies to the polish prompt; None gives the text back unchanged
    translation: Any = None  # replies to the translate prompt; None gives the text back unchanged
    calls: list[str] = []

    @property
    def _llm_type(self) -> str:
        return "fake-scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        system = str(messages[0].content)
        user = str(messages[-1].content)
        self.calls.append(user)
        if "Reply with Yes or No only" in system:
            text = self.verdict(user) if callable(self.verdict) else self.verdict
        elif system.startswith("Rewrite the user's text") and self.rewrite is not None:
            text = self.rewrite(user) if callable(self.rewrite) else self.rewrite
        elif system.startswith("Translate"):
            text = user if self.translation is None else self.translation  # by default the text as it is
        else:
            text = self.reply(user) if callable(self.reply) else self.reply
        for end in stop or []:  # generation ends where a stop string would come, as a real model's does
            text = text.split(end)[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
