"""The farm on a real multi-node Ray cluster on this machine
(ray.cluster_utils.Cluster): every cue renders, and losing a worker node in the
middle of a film still delivers every cue, byte-identical to a run without faults."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scorefarm.render.farm import FarmOptions, render_film
from scorefarm.symbolic.cuelist import load_cue_list

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "corpora" / "demo"

pytestmark = pytest.mark.slow


def _digests(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def cluster():
    from ray.cluster_utils import Cluster

    # the head takes no tasks, so every cue runs on a worker node that can be lost
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    yield cluster, nodes
    cluster.shutdown()


def test_film_survives_losing_a_worker_node(cluster, tmp_path):
    cluster, nodes = cluster
    film = tmp_path / "film"
    shutil.copytree(DEMO, film, ignore=shutil.ignore_patterns("*.py"))
    cue_list = load_cue_list(film / "film.toml")

    clean = tmp_path / "clean"
    report = render_film(cue_list, clean, FarmOptions(address=cluster.address))
    assert all(o.state == "rendered" for o in report.outcomes)

    killed = []

    def kill_a_node(payload):
        # once the first cue is back, the others are running on both nodes: lose one
        if payload["state"] == "done" and not killed:
            cluster.remove_node(nodes[0], allow_graceful=False)
            killed.append(nodes[0])

    faulty = tmp_path / "faulty"
    report = render_film(cue_list, faulty, FarmOptions(address=cluster.address), progress=kill_a_node)
    assert killed
    assert [o.state for o in report.outcomes] == ["rendered"] * len(cue_list.cues)
    assert _digests(faulty) == _digests(clean)
