"""Container health probe: exits 0 only when the gateway's gRPC health service says SERVING.

Docker's HEALTHCHECK needs a command; a gRPC probe is the honest one because the gateway only
reports SERVING once Triton and the index answer (a TCP check would pass on a broken gateway).
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def probe(target: str, service: str, timeout_s: float) -> int:
    """Returns the process exit code: 0 SERVING, 1 anything else, with the reason on stderr."""
    with grpc.insecure_channel(target) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.RpcError as error:
            print(f"{target}: health check failed: {error.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        print(f"{target}: service {service!r} is {status}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", nargs="?", default="localhost:50051", help="host:port")
    parser.add_argument("--service", default="", help="service name; empty = the whole server")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds")
    arguments = parser.parse_args(argv)
    return probe(arguments.target, arguments.service, arguments.timeout)


if __name__ == "__main__":
    sys.exit(main())
