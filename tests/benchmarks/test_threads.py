"""`python -m benchmarks.threads` (run from the repository root): one tiny run (every figure present and
positive, the pair's gain computed from them) and bad flags (exit status 2, one line)."""

import json

from conftest import run_cli

TINY = ["--methods=standard,madry", "--pairs=standard+madry", "--steps=1", "--warmup=1", "--repeats=1",
        "--pgd_steps=2", "--batch_size=16"]


def test_tiny_run_and_bad_flags():
    out = run_cli("benchmarks.threads", *TINY, "--json", timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    s = json.loads(out.stdout)
    med = s["seconds_per_step"]
    for kind in ("alone", "alone_1"):
        assert set(med[kind]) == {"standard", "madry"} and all(t > 0 for t in med[kind].values())
    ta, tb = med["side_by_side"]["standard+madry"]
    assert ta > 0 and tb > 0
    expected = (1 / ta + 1 / tb) / (2 / (med["alone"]["standard"] + med["alone"]["madry"]))
    assert abs(s["throughput_gain_side_by_side"]["standard+madry"] - expected) < 1e-12
    for args, needle in ((["--pairs=madry"], "look like madry+drrdn"), (["--methods=pgd"], "unknown method")):
        out = run_cli("benchmarks.threads", *args)
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert needle in lines[0]
