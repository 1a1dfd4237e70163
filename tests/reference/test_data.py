"""The shipped reference data: counts, check digits and the links between lists, as loaded."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from stdnum import casrn

from interdict.core.db import unit_of_work
from interdict.reference.catalogue import get_index
from interdict.reference.files import data_dir, datasets, read_csv
from interdict.reference.loader import build_substances, load_reference
from interdict.reference.models import Country, HsCode, Location, ReferenceDataset, SubstanceControl, TaxonomyTerm


def test_every_dataset_has_its_file_and_sources_note() -> None:
    base = data_dir()
    for info in datasets().values():
        if info.path.startswith("("):
            continue
        assert (base / info.path).is_file(), info.path
        assert (base / info.sources).is_file(), info.sources
        assert info.licence


def test_source_files_have_the_documented_row_counts() -> None:
    base = data_dir()
    un = list(read_csv(base / "precursors/un1988-precursor-tables-compiled.csv"))
    assert Counter(r["convention_table"] for r in un) == {"I": 31, "II": 8}
    assert len(list(read_csv(base / "precursors/vn-decree-28-2026-list-IVA-transcription.csv"))) == 31
    cn = Counter(r["list"] for r in read_csv(base / "china/cn-controlled-substances-2025-07.csv"))
    assert cn == {
        "CN_narcotic_drugs_2013": 121,
        "CN_psychotropic_class1_2013": 68,
        "CN_psychotropic_class2_2013": 81,
        "CN_non_medical_supplementary_list": 232,
    }
    hs = list(read_csv(base / "hs2022/harmonized-system.csv"))
    assert len(hs) == 6940
    assert {"292640", "293336", "293337", "293945", "854911"} <= {r["hscode"] for r in hs}  # HS 2022-only codes


def test_all_cas_numbers_in_the_catalogue_pass_the_check_digit() -> None:
    drafts = build_substances(data_dir())
    cas = [d.cas for d in drafts if d.cas]
    assert len(cas) > 450
    assert all(casrn.is_valid(c) for c in cas)
    # The documented transcription errors are corrected, not dropped.
    by_name = {d.name: d for d in drafts}
    assert by_name["Oxycodone"].cas == "76-42-6"
    assert by_name["Mescaline"].cas == "54-04-6"


def test_curated_names_and_classes_point_at_real_substances() -> None:
    for row in read_csv(data_dir() / "curated/substance-names.csv"):
        assert casrn.is_valid(row["cas"]), row
        assert row["lang"] in ("en", "vi", "zh")
    # build_substances raises if a curated row names a CAS that no list has.
    assert build_substances(data_dir())


def test_loaded_tables(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        assert s.scalar(select(func.count()).select_from(HsCode).where(HsCode.level == 6)) == 5613 - 0  # subheadings
        assert s.scalar(select(func.count()).select_from(Country)) == 249
        vn = s.scalar(select(func.count()).select_from(Location).where(Location.country == "VN"))
        assert vn == 241
        for code in ("VNHPH", "VNSGN", "VNCLI", "VNVUT", "VNDAD", "VNCMT"):
            assert s.get(Location, code) is not None, code
        assert s.get(Location, "VNCLI").is_seaport
        assert s.get(Country, "VN").name_vi == "Việt Nam"
        controls = Counter(c.list_code for c in s.scalars(select(SubstanceControl)))
        assert controls["UN1988-I"] == 31 and controls["UN1988-II"] == 8 and controls["VN-D28-IVA"] == 31
        assert controls["CN-NPS"] == 232
        assert s.scalar(select(func.count()).select_from(TaxonomyTerm)) >= 20
        assert {d.name for d in s.scalars(select(ReferenceDataset))} >= {
            "un1988-tables",
            "hs2022",
            "unlocode",
            "countries",
        }


def test_reload_is_idempotent(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        report = load_reference(s)
        assert report.loaded == {}
        before = len(get_index(s).substances)
        forced = load_reference(s, force=True)
        assert forced.loaded["hs2022"] == 6939
        assert len(get_index(s).substances) == before


@pytest.mark.parametrize(
    ("typed", "expected_cas"),
    [
        ("P2P", "103-79-7"),
        ("BMK", "103-79-7"),
        ("phenylacetone", "103-79-7"),
        ("1-phenyl-2-propanone", "103-79-7"),
        ("103-79-7", "103-79-7"),
        ("axetic anhydrit", "108-24-7"),
        ("anhydrit axetic", "108-24-7"),
        ("anhiđrit axetic", "108-24-7"),
        ("ANHYDRIT AXETIC", "108-24-7"),
        ("醋酸酐", "108-24-7"),
        ("乙酸酐", "108-24-7"),
        ("Acetic anhydride", "108-24-7"),
        ("APAAN", "4468-48-8"),
        ("MAPA", "16648-44-5"),
        ("PMK", "4676-39-5"),
        ("NPP", "39742-60-4"),
        ("4-ANPP", "21409-26-7"),
        ("kali permanganat", "7722-64-7"),
        ("thuốc tím", "7722-64-7"),
        ("axit sunfuric", "7664-93-9"),
        ("Sulfuric acid", "7664-93-9"),
        ("麻黄碱", "299-42-3"),
        ("ketamine", "6740-88-1"),
        ("氯胺酮", "6740-88-1"),
        ("Metamfetamine", "537-46-2"),
        ("MDMA", "42542-10-9"),
        ("1-boc-4-AP", "125541-22-2"),
    ],
)
def test_what_officers_type_resolves_to_the_right_substance(app: FastAPI, typed: str, expected_cas: str) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        found, candidates = index.resolve_substance(typed)
        assert found is not None, (typed, [c.name for c in candidates])
        assert found.cas == expected_cas
        assert index.search_substances(typed, limit=5)[0].substance.cas == expected_cas


def test_autocomplete_is_ranked_and_tolerates_typos(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        hits = index.search_substances("acetic anh", limit=5)
        assert hits[0].substance.cas == "108-24-7" and not hits[0].exact
        typo = index.search_substances("acetic anhydrid", limit=3)
        assert typo[0].substance.cas == "108-24-7"
        assert index.search_substances("", limit=3) == []
        exact = index.search_substances("P2P", limit=5)
        assert exact[0].exact and exact[0].score == 100


def test_substance_classes_and_lists(app: FastAPI) -> None:
    with unit_of_work(app.state.sessionmaker) as s:
        index = get_index(s)
        fentanyl = {index.substances[i].cas for i in index.substances_in_class("precursor-fentanyl")}
        assert {"21409-26-7", "39742-60-4", "1609-66-1"} <= fentanyl
        assert len(index.substances_in_class("UN1988-II")) == 8
        assert len(index.substances_in_class("nps")) >= 200
        p2p = index.resolve_substance("P2P")[0]
        assert p2p is not None and "291431" in p2p.hs_codes and p2p.is_precursor
