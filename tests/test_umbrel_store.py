"""The community app store copy agrees with the official app folder it is generated from."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from umbrel_support import APP, APP_ID, COMMUNITY_APP, COMMUNITY_APP_ID, ROOT, STORE, load

GENERATOR = ROOT / "scripts" / "gen_umbrel_store.py"


def generator(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GENERATOR), *args], capture_output=True,
                          text=True, timeout=60)


def test_the_committed_store_is_what_the_generator_makes():
    done = generator("--check")
    assert done.returncode == 0, done.stderr


def test_check_fails_when_the_official_folder_changed_alone(tmp_path: Path):
    source = tmp_path / APP_ID
    shutil.copytree(APP, source)
    manifest = source / "umbrel-app.yml"
    manifest.write_text(manifest.read_text().replace('version: "0.1.0"', 'version: "0.1.1"'))
    done = generator("--check", "--source", str(source), "--out", str(STORE))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"gen_umbrel_store: {STORE} is out of date ({COMMUNITY_APP_ID}/umbrel-app.yml); run "
        "scripts/gen_umbrel_store.py")
    out = tmp_path / "store"
    assert generator("--source", str(source), "--out", str(out)).returncode == 0
    assert load(out / COMMUNITY_APP_ID / "umbrel-app.yml")["version"] == "0.1.1"


def test_store_manifest_and_community_id():
    store = load(STORE / "umbrel-app-store.yml")
    assert set(store) == {"id", "name"} and store["name"]
    assert COMMUNITY_APP_ID.startswith(store["id"] + "-")
    apps = [p.name for p in STORE.iterdir() if p.is_dir()]
    assert apps == [COMMUNITY_APP_ID]


def test_the_two_layouts_differ_only_by_id_container_names_and_icon():
    official, community = load(APP / "umbrel-app.yml"), load(COMMUNITY_APP / "umbrel-app.yml")
    assert community.pop("icon").startswith("https://")
    assert "icon" not in official  # the official store makes its own
    assert (official.pop("id"), community.pop("id")) == (APP_ID, COMMUNITY_APP_ID)
    assert official == community
    rename = f"{APP_ID}_", f"{COMMUNITY_APP_ID}_"
    for name in ("docker-compose.yml", "prometheus.yml"):
        a = (APP / name).read_text().replace(*rename).replace(f"-p {APP_ID} ", "-p X ")
        b = (COMMUNITY_APP / name).read_text().replace(f"-p {COMMUNITY_APP_ID} ", "-p X ")
        assert load_text(a) == load_text(b), name
    files = sorted(str(p.relative_to(APP)) for p in APP.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(COMMUNITY_APP))
                           for p in COMMUNITY_APP.rglob("*") if p.is_file())


def load_text(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)
