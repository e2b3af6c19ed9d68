"""Issue 16's fault scenario (benchmarks/failover.py): two `jepa-serve serve` processes share one
Milvus server and two Triton replicas; during 60 s of mixed load from SDK clients given both
gateways, one gateway and then one Triton are SIGKILLed. No idempotent call fails after the SDK's
retries, every acknowledged IndexVideos row is in Milvus, none twice, and the load really went
through both gateways and both Tritons before the kills (or the kills would prove nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.failover import PHASES, FailoverPlan, run_failover
from jepa_server.triton_local import LocalTriton, LocalTritonOptions
from benchmarks.milvus_server import MilvusStandalone

# Calls each gateway and each Triton must have served before its kill for the kill to be a failover.
MIN_SERVED_BEFORE_KILL = 10


@pytest.fixture()
def second_triton(cpu_repository: Path) -> Iterator[LocalTriton]:
    """The replica that gets killed (the session's Triton is the one that survives)."""
    with LocalTriton(LocalTritonOptions(repository=cpu_repository, startup_timeout_s=120)) as triton:
        yield triton


def test_killing_a_gateway_and_a_triton_under_load_fails_no_idempotent_call_and_loses_no_row(
    cpu_repository: Path, local_triton: LocalTriton, second_triton: LocalTriton, milvus_standalone: MilvusStandalone, tmp_path: Path
) -> None:
    failover = run_failover(
        cpu_repository, [local_triton, second_triton], milvus_standalone.new_database_uri("failover"), FailoverPlan(), tmp_path / "logs",
        command="pytest tests/reliability/test_failover_under_load.py",
    )
    calls = failover.calls
    assert all(summary.idempotent for summary in calls.values()), "every call of the mix may be resent, IndexVideos too"
    assert failover.failed_idempotent_calls == 0, {kind: summary.errors for kind, summary in calls.items() if summary.errors}

    assert failover.acknowledged_rows > 0 and failover.acknowledged_videos >= 10
    assert failover.missing_videos == []
    assert failover.wrong_row_counts == {}
    assert failover.rows_found == failover.acknowledged_rows
    assert failover.duplicate_rows == 0
    assert failover.rows_through_gateway == failover.acknowledged_rows + failover.unacknowledged_rows

    # The kills hit components that were carrying the load, and every kind of call went on after each.
    assert [kill.target.split()[0] for kill in failover.kills] == ["gateway", "triton"]
    assert failover.orphans_after_gateway_kill == 0, "the killed gateway's decode workers outlived it"
    assert min(failover.gateway_calls_before_kill.values()) >= MIN_SERVED_BEFORE_KILL, failover.gateway_calls_before_kill
    assert min(failover.triton_inferences_before_kill.values()) >= MIN_SERVED_BEFORE_KILL, failover.triton_inferences_before_kill
    assert all(summary.ok_by_phase[phase] > 0 for summary in calls.values() for phase in PHASES), {kind: summary.ok_by_phase for kind, summary in calls.items()}
