"""Scenario files (fesolver.scenario): defaults, extends, overrides and every kind of mistake."""

from __future__ import annotations

import pytest

from fesolver.errors import ScenarioError
from fesolver.scenario import SCHEMA, flatten, load_scenario, schema_table, unflatten

BASE = """
title = "pronated foot, no insert"
[subject]
body_mass_kg = 80.0
side = "left"
[gait]
instant = "midstance"
[foot]
eversion_deg = 8.0
[knee]
varus_valgus_deg = 3.0
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_defaults_fill_every_key(tmp_path):
    s = load_scenario(write(tmp_path, "empty.toml", ""))
    assert s.title == "empty"
    for sec, keys in SCHEMA.items():
        for k, spec in keys.items():
            assert s[f"{sec}.{k}"] == spec.default
    assert s["gait.instant"] == "midstance" and s["orthotic.type"] == "none"


def test_values_and_types(tmp_path):
    s = load_scenario(write(tmp_path, "a.toml", BASE))
    assert s.title == "pronated foot, no insert"
    assert s["subject.body_mass_kg"] == 80.0 and s["subject.side"] == "left"
    assert s["foot.eversion_deg"] == 8.0 and isinstance(s["foot.eversion_deg"], float)
    with pytest.raises(KeyError):
        s["foot.wobble"]


def test_extends_overrides_key_by_key(tmp_path):
    write(tmp_path, "base.toml", BASE)
    sub = tmp_path / "cases"
    sub.mkdir()
    s = load_scenario(write(sub, "insole.toml", 'extends = "../base.toml"\ntitle = "with a medial wedge"\n'
                            '[orthotic]\ntype = "insole"\nposting_deg = 5.0\n[foot]\ntoe_out_deg = 12.0\n'))
    assert s.title == "with a medial wedge"
    assert s["subject.body_mass_kg"] == 80.0  # from the base
    assert s["foot.eversion_deg"] == 8.0 and s["foot.toe_out_deg"] == 12.0  # table merged, key replaced
    assert s["orthotic.posting_deg"] == 5.0
    assert [p.name for p in s.sources] == ["insole.toml", "base.toml"]
    e = s.expanded()
    assert "extends" not in e and e["foot"]["eversion_deg"] == 8.0 and e["orthotic"]["type"] == "insole"


def test_overrides_after_extends(tmp_path):
    p = write(tmp_path, "a.toml", BASE)
    s = load_scenario(p, overrides={"foot.eversion_deg": -5.0, "orthotic.type": "insole"})
    assert s["foot.eversion_deg"] == -5.0 and s["orthotic.type"] == "insole"
    with pytest.raises(ScenarioError, match="foot.eversion_deg must be >= -20.0 and <= 25.0, got 40.0"):
        load_scenario(p, overrides={"foot.eversion_deg": 40.0})


def test_extends_cycle_and_missing_parent(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.toml")
    with pytest.raises(ScenarioError, match=r"nothere.toml: scenario file not found \(extends of"):
        load_scenario(write(tmp_path, "c.toml", 'extends = "nothere.toml"\n'))


@pytest.mark.parametrize("text,words", [
    ("[foot]\neversion_deg = 30.0\n", ["foot.eversion_deg", ">= -20.0", "<= 25.0", "30.0"]),
    ("[foot]\neversion_deg = \"a lot\"\n", ["foot.eversion_deg", "finite number", "a string"]),
    ("[foot]\neversion = 5.0\n", ["unknown key", "eversion", "foot", "eversion_deg"]),
    ("[feet]\neversion_deg = 5.0\n", ["unknown key", "feet"]),
    ("[gait]\ninstant = \"jogging\"\n", ["gait.instant", "midstance", "jogging"]),
    ("[gait]\nsamples = 2\n", ["gait.samples", "from 3 to 50", "got 2"]),
    ("[subject]\nbody_mass_kg = -70\n", ["subject.body_mass_kg", ">= 20.0"]),
    ("[subject]\nfoot_mesh = \"missing.vtu\"\n", ["subject.foot_mesh", "missing.vtu", "no such file"]),
    ("[orthotic]\ntype = \"insole\"\nmaterial = \"granite\"\n", ["orthotic.material", "granite", "eva_medium"]),
    ("[orthotic]\ntype = \"mesh\"\n", ["orthotic.type = 'mesh' needs orthotic.mesh"]),
    ("[orthotic]\nmidsole = \"eva_firm\"\n", ["orthotic.midsole = 'eva_firm' needs orthotic.type = 'insole'",
                                               "type = 'none'"]),
    ("[orthotic]\ntype = \"insole\"\nmidsole = \"cardboard\"\n", ["orthotic.midsole", "cardboard", "eva_firm"]),
    ("[antalgic]\nshank_rotation_deg = 5.0\n", ["antalgic.shank_rotation_deg", "painful_joint = 'none'"]),
    ("[solver]\ninitial_step = 0.5\nmax_step = 0.25\n", ["min_step <= initial_step <= max_step"]),
    ("[mesh]\nmenisci = 1\n", ["mesh.menisci", "true or false"]),
    ("[knee]\nquadriceps_force_N = -50.0\n", ["knee.quadriceps_force_N", ">= 0.0", "<= 10000.0", "-50.0"]),
    ("[knee]\nquadriceps_force_N = 2e4\n", ["knee.quadriceps_force_N", "<= 10000.0", "20000.0"]),
    ("[knee]\nquadriceps_force_N = \"strong\"\n", ["knee.quadriceps_force_N", "finite number", "a string"]),
    ("[knee]\nquadriceps_force_N = nan\n", ["knee.quadriceps_force_N", "finite number"]),
    ("[knee]\npatellofemoral = \"yes\"\n", ["knee.patellofemoral", "true or false"]),
    ("[chain]\nmade_up = 1.0\n", ["chain.made_up", "not a kinetic-chain coefficient"]),
    ("title = 3\n", ["title", "string"]),
    ("foot = 3\n", ["foot", "table"]),
])
def test_bad_scenarios_name_file_key_value(tmp_path, text, words):
    p = write(tmp_path, "bad.toml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    msg = str(info.value)
    assert str(p) in msg
    for w in words:
        assert w in msg, msg


def test_knee_quadriceps_and_patellofemoral_keys(tmp_path):
    s = load_scenario(write(tmp_path, "pf.toml", "[knee]\nquadriceps_force_N = 450\npatellofemoral = false\n"))
    assert s["knee.quadriceps_force_N"] == 450.0 and isinstance(s["knee.quadriceps_force_N"], float)
    assert s["knee.patellofemoral"] is False
    d = load_scenario(write(tmp_path, "default.toml", ""))
    assert d["knee.quadriceps_force_N"] is None and d["knee.patellofemoral"] is True
    # a bad value given on the command line / by a sweep names the file and the key too
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "default.toml", overrides={"knee.quadriceps_force_N": -1.0})
    assert str(tmp_path / "default.toml") in str(info.value) and "knee.quadriceps_force_N" in str(info.value)


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "x.toml", "[foot\n"))
    with pytest.raises(ScenarioError, match="scenario file not found"):
        load_scenario(tmp_path / "none.toml")


def test_flatten_roundtrip_and_schema_table():
    d = {"foot": {"eversion_deg": 5.0, "toe_out_deg": 3.0}, "title": "x"}
    assert unflatten(flatten(d)) == d
    table = schema_table()
    for sec, keys in SCHEMA.items():
        for k in keys:
            assert f"`{sec}.{k}`" in table


def test_docs_key_table_matches_the_schema():
    """docs/scenarios.md carries the generated key table; regenerate it when the schema changes."""
    from pathlib import Path

    from fesolver.scenario import schema_table

    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()
    assert schema_table() in doc, "docs/scenarios.md is stale: paste the output of `fesolver scenario-keys`"
