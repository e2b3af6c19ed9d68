"""jepa-serve server: gateway, Triton adapters and the local Triton launcher."""
