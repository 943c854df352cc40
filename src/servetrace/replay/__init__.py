"""Replay: traces sent to OpenAI-compatible endpoints, a built-in emulated GPU serving endpoint among them."""
