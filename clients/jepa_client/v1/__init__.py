"""Generated gRPC stubs of protos/jepa/v1 (python protos/generate.py)."""
