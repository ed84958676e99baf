"""An OpenAI-compatible chat server on 127.0.0.1 whose behaviour a test switches: the real
``ChatOpenAI`` client talks HTTP to it, so timeouts, errors and log-probabilities go through the
same code as with OpenAI, vLLM or llama.cpp's server. Its replies are fixed: a test that uses it
checks what articlebot does with an answer, not the answer's quality."""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAIServer:
    """``mode``: "ok", "hang", "500" or "garbage". ``p_yes``: the probability its Yes/No replies
    give "Yes" when log-probabilities are asked for. ``logprobs``: "given", "ignored" (left out of
    the reply, as some servers do) or "refused" (HTTP 400, as OpenAI's reasoning models answer).
    ``thinking``: words every reply opens with in <think> tags, a token each, as a thinking model
    served by Ollama or llama.cpp writes them; a request's token limit cuts them short, and its stop
    strings end the reply where they first occur, as a real server does."""

    def __init__(self, answer: str = "Martin Kobler [1]") -> None:
        self.mode = "ok"
        self.answer = answer
        self.p_yes = 0.9
        self.logprobs = "given"
        self.thinking = ""
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(body)
                if server.mode == "hang":
                    time.sleep(20)
                    return
                if server.mode == "500":
                    self._send(500, b'{"error": {"message": "internal error"}}')
                    return
                if server.mode == "garbage":
                    self._send(200, b"<html>this is not JSON</html>")
                    return
                if body.get("logprobs") and server.logprobs == "refused":
                    self._send(400, json.dumps({"error": {
                        "message": "logprobs is not supported with this model", "type": "invalid_request_error",
                        "param": "logprobs", "code": "unsupported_parameter"}}).encode())
                    return
                choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
                tokens = server._reasoning()
                if "Yes or No" in body["messages"][0]["content"]:
                    tokens.append(server._first_token("Yes" if server.p_yes >= 0.5 else "No"))
                else:
                    tokens.append({"token": server.answer, "logprob": 0.0, "bytes": None, "top_logprobs": []})
                limit = body.get("max_completion_tokens") or body.get("max_tokens")
                if limit and len(tokens) > limit:
                    tokens, choice["finish_reason"] = tokens[:limit], "length"
                text = "".join(t["token"] for t in tokens)
                for stop in body.get("stop") or []:
                    text = text.split(stop)[0]
                if body.get("logprobs") and server.logprobs == "given":
                    choice["logprobs"] = {"content": tokens, "refusal": None}
                choice["message"] = {"role": "assistant", "content": text}
                self._send(200, json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode())

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _first_token(self, text: str) -> dict[str, Any]:
        """The first token as OpenAI reports it: the words split over two spellings each, plus a
        token that is neither, as a real model's alternatives are."""
        p_yes, p_no, other = self.p_yes * 0.98, (1 - self.p_yes) * 0.98, 0.02
        top = [("Yes", p_yes * 0.9), (" yes", p_yes * 0.1), ("No", p_no * 0.9), (" no", p_no * 0.1),
               ("The", other)]
        alternatives = [{"token": t, "logprob": math.log(p), "bytes": None} for t, p in top if p > 0]
        alternatives.sort(key=lambda a: -a["logprob"])
        chosen = next(a for a in alternatives if a["token"] == text)
        return {**chosen, "top_logprobs": alternatives}

    def _reasoning(self) -> list[dict[str, Any]]:
        """The <think> block as tokens; the first one's alternatives hold a faint "No", as a real
        model's do, which is not its answer."""
        if not self.thinking:
            return []
        words = ["<think>"] + [w + " " for w in self.thinking.split(" ")] + ["</think>", "\n\n"]
        tokens = [{"token": w, "logprob": 0.0, "bytes": None, "top_logprobs": []} for w in words]
        tokens[0]["top_logprobs"] = [{"token": "<think>", "logprob": math.log(0.99), "bytes": None},
                                     {"token": "No", "logprob": math.log(0.01), "bytes": None}]
        return tokens

    def close(self) -> None:
        self.httpd.shutdown()
