"""Optional generated answers: the OpenAI-compatible endpoint (llm) and the check of every claim and
marker against the passages given (grounding)."""
