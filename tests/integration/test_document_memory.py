"""A 20 MB file passes the document pipeline without the hub's memory growing with it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# In a fresh process, so that nothing another test allocated hides or inflates the figure.
SCRIPT = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    from bench.documents import RSS, SIZE, stage, upload
    from hub.operations import documents as ops
    from tests.support.document_files import large_pdf
    from tests.support.environment import MONDAY_EARLY

    work = Path(tempfile.mkdtemp(dir=sys.argv[1]))
    big = large_pdf(work / "big.pdf", SIZE)
    store, appointment = stage(f"sqlite:///{work / 'hub.sqlite3'}", work, sys.argv[2])
    def through(path):
        document = upload(store, appointment, path)
        _, chunks = ops.open_document(store, appointment, document.id, actor="citizen",
                                      now=MONDAY_EARLY)
        assert sum(len(c) for c in chunks) == document.size
    through(large_pdf(work / "small.pdf", 300_000))  # imports, pools, caches: warm
    rss = RSS(__import__("os").getpid())
    before = rss.now()
    with rss:
        through(big)
    print(json.dumps({"before": before, "peak": rss.peak, "size": big.stat().st_size}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["database", "folder"])
def test_a_20_mb_file_passes_finish_and_download_in_16_mb_of_memory(tmp_path, storage):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), storage],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["size"] > 18 * 1024 * 1024
    assert figures["peak"] - figures["before"] <= 16, figures
