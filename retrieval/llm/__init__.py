"""Language-model backends: llama.cpp (GGUF), OpenAI-compatible servers, Ollama, and none (extractive)."""
