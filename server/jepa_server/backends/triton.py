"""Triton adapter: discover the served jepa models and run inferences over gRPC (KServe v2).

Knows nothing about the gateway's gRPC messages; speaks numpy in and out.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import numpy as np
import tritonclient.grpc.aio as triton_grpc
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from jepa_server.errors import BackendUnavailable, DeadlineExceeded, GatewayError, InvalidInput, LimitExceeded, ModelFailure


@dataclass(frozen=True)
class ServedModel:
    """A model Triton serves, as described by its config.pbtxt (docs/repository-format.md)."""

    name: str
    version: str
    role: str
    max_batch_size: int
    inputs: dict[str, list[int]]
    outputs: dict[str, list[int]]
    parameters: dict[str, str] = field(default_factory=dict)

    def output_dimension(self, output: str) -> int:
        return int(self.outputs[output][-1])


def domain_error(error: InferenceServerException, model: str) -> GatewayError:
    """Sort a failed Triton call by the gRPC status Triton answered, never by its wording: only a
    Triton that cannot be reached, or does not serve the model right now (loading, unloaded), is
    worth a retry; a model that fails on a valid request fails again the same way."""
    status = (error.status() or "").removeprefix("StatusCode.")
    text = error.message() or str(error)
    if status in ("UNAVAILABLE", "NOT_FOUND"):
        return BackendUnavailable("triton", f"inference server unreachable for model {model}: {text}")
    if status == "DEADLINE_EXCEEDED":
        return DeadlineExceeded("deadline", f"Triton did not answer for model {model} in time")
    if status == "INVALID_ARGUMENT":
        return InvalidInput("model", f"{model} rejected the request: {text}")
    if status == "RESOURCE_EXHAUSTED":
        return LimitExceeded("model", f"{model} refused the request as too large: {text}")
    return ModelFailure("model", f"{model} failed ({status or 'no status'}): {text}")


class TritonBackend:
    """Long-lived `tritonclient.grpc.aio` clients, one per Triton replica, shared by every request.

    `url` is one Triton or several, comma-separated, serving the same repository. Calls go
    round-robin over the replicas believed up; a replica that is unreachable is marked down and the
    call goes on to the next one (an inference is a pure function: running it elsewhere is safe).
    `is_ready`, which the gateway polls every second, brings replicas back once they answer."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.urls = [part.strip() for part in url.split(",") if part.strip()]
        if not self.urls:
            raise ValueError("triton_url: empty, need host:port (or several, comma-separated)")
        self.timeout_s = timeout_s
        self._clients: dict[str, triton_grpc.InferenceServerClient] = {}
        self._up = {replica: True for replica in self.urls}
        self._turn = itertools.count()

    def _client(self, replica: str) -> triton_grpc.InferenceServerClient:
        if replica not in self._clients:
            self._clients[replica] = triton_grpc.InferenceServerClient(replica)
        return self._clients[replica]

    @property
    def client(self) -> triton_grpc.InferenceServerClient:
        """A client of a replica believed up (the first one when none is)."""
        return self._client(next((replica for replica in self.urls if self._up[replica]), self.urls[0]))

    def _order(self) -> list[str]:
        """The replicas to try for one call: those up, from the next in turn, then those down."""
        start = next(self._turn) % len(self.urls)
        rotated = self.urls[start:] + self.urls[:start]
        return [replica for replica in rotated if self._up[replica]] + [replica for replica in rotated if not self._up[replica]]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    async def is_ready(self) -> bool:
        """Any replica ready; each replica's state is refreshed."""
        states = await asyncio.gather(*(self._replica_ready(replica) for replica in self.urls))
        for replica, ready in zip(self.urls, states):
            self._up[replica] = ready
        return any(states)

    async def _replica_ready(self, replica: str) -> bool:
        try:
            return bool(await self._client(replica).is_server_ready(client_timeout=2.0))
        except (InferenceServerException, OSError, asyncio.TimeoutError):
            return False

    async def discover(self) -> dict[str, ServedModel]:
        """Every ready model whose config carries a `jepa.role` parameter."""
        try:
            index = await self.client.get_model_repository_index(as_json=True, client_timeout=self.timeout_s)
        except InferenceServerException as error:
            raise domain_error(error, "(repository index)") from error
        models: dict[str, ServedModel] = {}
        for entry in index.get("models", []):
            if entry.get("state") != "READY":
                continue
            config = (await self.client.get_model_config(entry["name"], as_json=True, client_timeout=self.timeout_s))["config"]
            parameters = {key: value.get("string_value", "") for key, value in config.get("parameters", {}).items()}
            if "jepa.role" not in parameters:
                continue
            models[entry["name"]] = ServedModel(
                name=entry["name"],
                version=entry.get("version", "1"),
                role=parameters["jepa.role"],
                max_batch_size=int(config.get("max_batch_size", 0)),
                inputs={tensor["name"]: [int(d) for d in tensor.get("dims", [])] for tensor in config.get("input", [])},
                outputs={tensor["name"]: [int(d) for d in tensor.get("dims", [])] for tensor in config.get("output", [])},
                parameters=parameters,
            )
        return models

    async def infer(
        self,
        model: ServedModel,
        inputs: dict[str, np.ndarray],
        output_names: list[str],
        timeout_s: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Run one inference; a batch larger than the model's max_batch_size is split."""
        batch = next(iter(inputs.values())).shape[0]
        step = model.max_batch_size or batch
        if batch > step:
            parts = await asyncio.gather(
                *(
                    self.infer(model, {name: array[start : start + step] for name, array in inputs.items()}, output_names, timeout_s)
                    for start in range(0, batch, step)
                )
            )
            return {name: np.concatenate([part[name] for part in parts]) for name in output_names}
        triton_inputs = []
        for name, array in inputs.items():
            tensor = triton_grpc.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            triton_inputs.append(tensor)
        requested = [triton_grpc.InferRequestedOutput(name) for name in output_names]
        timeout = self.timeout_s if timeout_s is None else max(0.001, min(timeout_s, self.timeout_s))
        failure: GatewayError | None = None
        for replica in self._order():
            try:
                result = await self._client(replica).infer(
                    model.name, triton_inputs, outputs=requested, client_timeout=timeout, timeout=int(timeout * 1e6)
                )
            except InferenceServerException as error:
                failure = domain_error(error, model.name)
                if not isinstance(failure, BackendUnavailable):
                    raise failure from error
                self._up[replica] = False  # the next replica gets this call; is_ready brings it back
                continue
            return {name: result.as_numpy(name) for name in output_names}
        assert failure is not None
        raise failure
