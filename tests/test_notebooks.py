"""Every notebook of the manifest runs top to bottom in the smoke profile (as `make smoke`)."""
import pytest

from coordlib.pipeline import reproduce


@pytest.mark.parametrize("entry", reproduce.load_manifest(), ids=lambda e: e.id)
def test_notebook_runs_in_the_smoke_profile(entry, tmp_path):
    outcome = reproduce.run_notebook(entry, "smoke", reproduce.Layout.for_profile("smoke", tmp_path), force=True)
    assert outcome.status == "regenerated", outcome.error
    for artifact in entry.artifacts:
        assert reproduce.Layout.for_profile("smoke", tmp_path).artifact(artifact).stat().st_size > 0
