"""The HTTP/JSON front end: OpenAI-compatible embeddings, video and retrieval routes, the search page."""
