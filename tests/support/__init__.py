"""Helpers shared by the test suite: real media files, a gateway on a thread, Triton metrics."""
