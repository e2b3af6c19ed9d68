"""Core: what the gateway does, independent of gRPC messages and of the engines behind it."""
