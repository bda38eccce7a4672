"""keep_freed_memory: arrays made again after others were freed reuse their memory instead of faulting in fresh
pages. Each case runs in a fresh interpreter, whose allocator has not yet seen large blocks come and go."""

import subprocess
import sys
import textwrap

import pytest

# Make 2 MB levels as a pipeline run does (the new ones while the old are alive, then the old are dropped) and
# count the page faults of the last runs: every fresh page costs one.
RUNS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from cnnviz.core.allocator import keep_freed_memory
    applied = keep_freed_memory() if sys.argv[1] == "tuned" else None
    x = np.ones((256, 256, 8), np.float32)
    levels = []
    for run in range(8):
        if run == 4:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        levels = [np.maximum(x, np.float32(run)) for _ in range(6)]
    pages = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / (4 * 6 * x.nbytes / 4096)
    print(applied, round(pages, 3))
""")


def _fresh_pages_per_level_page(mode: str) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", RUNS, mode], capture_output=True, text=True, check=True).stdout
    applied, pages = out.split()
    return applied, float(pages)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is tuned on Linux only")
def test_levels_made_again_reuse_the_memory_of_the_levels_freed():
    applied, tuned = _fresh_pages_per_level_page("tuned")
    if applied != "True":
        pytest.skip("not glibc: its malloc has no mallopt")
    _, default = _fresh_pages_per_level_page("default")
    # glibc by default faults in most of every new level (0.5 fresh pages per page written, measured)
    assert tuned < 0.02, f"{tuned:.3f} fresh pages per page of the new levels (the default gave {default:.3f})"
