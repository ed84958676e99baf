"""articlebot's engine: load, chunk, embed, store, retrieve, answer, evaluate.

Front ends (``bot/``) use :class:`retrieval.engine.Engine`; nothing here imports a front end.
Heavy libraries (torch, chromadb, llama.cpp) are imported lazily so that a command loads only
what it needs.
"""
