"""Commands other packages register with `buergeramt` (entry-point group `buergeramt.commands`):
the appliance's own, and one that cannot be loaded, which must not take the others down."""

import os
import subprocess
import sys

from tests.integration.test_cli import run


def test_the_appliance_registers_its_command_and_the_hub_lists_it(tmp_path):
    listing = run(tmp_path, "--help")
    assert listing.returncode == 0, listing.stderr
    assert "appliance  Run a counter appliance" in listing.stdout
    usage = run(tmp_path, "appliance", "--help")
    assert "BUERGERAMT_APPLIANCE_*" in usage.stdout


def broken_plugin(tmp_path):
    """A package on the path that registers a command whose module is not installed."""
    info = tmp_path / "plugins" / "broken_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[buergeramt.commands]\nbroken = no_such_module_here.cli:command\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path / "plugins"), *sys.path])}


def test_a_command_that_cannot_load_says_why_and_the_others_still_work(tmp_path):
    env = broken_plugin(tmp_path)
    listing = run(tmp_path, "--help", env=env)
    assert listing.returncode == 0, listing.stderr
    assert "broken" in listing.stdout and "not available" in listing.stdout
    assert "appliance  Run a counter appliance" in listing.stdout

    assert run(tmp_path, "db", "upgrade", env=env).returncode == 0
    broken = run(tmp_path, "broken", "--some-option", env=env)
    assert broken.returncode == 1
    assert "the module 'no_such_module_here' is not installed" in broken.stderr
    assert "broken-plugin" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_the_appliance_without_its_extra_names_what_to_install(tmp_path):
    """A hub installed without `[appliance]` still has the command; it says what is missing."""
    script = (
        "import sys\n"
        "sys.modules['aiortc'] = None\n"  # as if the appliance extra were not installed
        "sys.argv = ['buergeramt', 'appliance']\n"
        "from hub.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "BUERGERAMT_APPLIANCE_DEVICE_CREDENTIAL": "x" * 43}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "'aiortc', which is not installed" in done.stderr
    assert "pip install 'buergeramt-virtuell[appliance]'" in done.stderr
    assert "Traceback" not in done.stderr
