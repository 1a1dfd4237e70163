"""A watch rule matches exactly the incidents a search with the same filter finds: the Python form of the
filter language (used to test thousands of rules against one new incident) agrees with its SQL form on
random filters, person data and missing values included, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, true
from sqlalchemy.orm import selectinload

from interdict.accounts.models import Organisation
from interdict.core.filters import FilterNode
from interdict.incidents.models import Incident
from interdict.incidents.search import IncidentFacts, incident_registry
from interdict.reference.catalogue import get_index
from interdict.watch.matcher import CompiledRule, RuleBook
from interdict.watch.service import _FILTER, registry
from tests.conftest import World, minimal_incident

ATOMS: list[dict[str, Any]] = [
    {"field": "type", "op": "eq", "value": "seizure"},
    {"field": "type", "op": "ne", "value": "stopped_shipment"},
    {"field": "mode", "op": "in", "value": ["sea", "air"]},
    {"field": "mode", "op": "ne", "value": "sea"},
    {"field": "place_type", "op": "ne", "value": "seaport"},
    {"field": "detection_method", "op": "eq", "value": "scanner"},
    {"field": "detection_method", "op": "not_in", "value": ["scanner"]},
    {"field": "hs_code", "op": "contains", "value": "29"},
    {"field": "substance", "op": "eq", "value": "acetic anhydride"},
    {"field": "substance", "op": "ne", "value": "safrole"},
    {"field": "route_country", "op": "eq", "value": "SG"},
    {"field": "route_country", "op": "not_in", "value": ["TH", "SG"]},
    {"field": "port", "op": "eq", "value": "VNCLI"},
    {"field": "container", "op": "contains", "value": "CSQU"},
    {"field": "container", "op": "eq", "value": "MSKU1234565"},
    {"field": "container", "op": "contains", "value": "MSKU12"},
    {"field": "substance_class", "op": "eq", "value": "UN1988-I"},
    {"field": "substance_class", "op": "in", "value": ["precursor", "nps"]},
    {"field": "vessel_imo", "op": "eq", "value": "9074729"},
    {"field": "company", "op": "contains", "value": "hoang phat"},
    {"field": "company", "op": "contains", "value": "Khoa"},
    {"field": "text", "op": "match", "value": "solv"},
    {"field": "text", "op": "match", "value": "khoa"},
    {"field": "text", "op": "match", "value": "industrial solv"},
    {"field": "company", "op": "contains", "value": "huada chem"},
    {"field": "date", "op": "gte", "value": "2026-03-01"},
    {"field": "date", "op": "between", "value": ["2026-01-01", "2026-02-28"]},
    {"field": "owner_org", "op": "eq", "value": "VNC-HP"},
    {"field": "owner_org", "op": "ne", "value": "VNP"},
    {"field": "bl_awb", "op": "eq", "value": "SHA123456"},
]

nodes = st.recursive(
    st.sampled_from(ATOMS),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        children.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)

PERSON = {"role": "person_involved", "kind": "person", "name": "Trần Văn Khoa", "country": "VN"}
VARIANTS: list[dict[str, Any]] = [
    {},
    {"incident_type": "seizure", "mode_of_transport": None, "declared_hs_code": None, "parties": [PERSON]},
    {"incident_type": "seizure", "detection_method": "scanner", "incident_date": "2026-02-10", "transits": []},
    {"mode_of_transport": "air", "containers": [{"number": "MSKU1234565"}], "vessel_imo": None, "bl_awb": None},
    {"substances": [{"substance": "safrole", "quantity": "3", "unit": "kg"}], "goods_description": "Oil"},
    {"detection_method": "risk_profile", "transits": [{"country": "TH", "locode": None}], "parties": [PERSON]},
]


def _incidents(client: TestClient, world: World) -> list[IncidentFacts]:
    for i, v in enumerate(VARIANTS):
        user = "police" if i == 4 else "officer.hp"
        r = client.post("/api/v1/incidents", json={"submit": True, **minimal_incident(**v)}, headers=world.h(user))
        assert r.status_code == 201, r.text
    with world.session() as s:
        codes = dict(s.execute(select(Organisation.id, Organisation.code)).all())
        rows = s.scalars(
            select(Incident).options(
                selectinload(Incident.substances),
                selectinload(Incident.places),
                selectinload(Incident.containers),
                selectinload(Incident.modus),
            )
        ).all()
        return [IncidentFacts.of(i, codes[i.owner_org_id]) for i in rows]


def test_python_and_sql_forms_of_a_filter_find_the_same_incidents(client: TestClient, world: World) -> None:
    facts = _incidents(client, world)
    assert len(facts) == len(VARIANTS)
    by_ref = {f.columns["reference"]: f for f in facts}

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(nodes)
    def agree(raw: dict[str, Any]) -> None:
        node: FilterNode = _FILTER.validate_python(raw)
        with world.session() as s:
            for nominal in (False, True):
                reg = registry(s)
                sql_reg = incident_registry(
                    get_index(s), s.get_bind().dialect.name, nominal=true() if nominal else None
                )
                in_sql = set(s.scalars(select(Incident.reference).where(sql_reg.compile(node))))
                test = reg.matcher(node)
                in_python = {ref for ref, f in by_ref.items() if test(f.as_reader(nominal_visible=nominal)) is True}
                assert in_sql == in_python, (raw, nominal)
                # The rule book's index never hides a rule from an incident it matches.
                book = RuleBook(stamp=())
                rule = CompiledRule(uuid.uuid4(), "r", "user", uuid.uuid4(), uuid.uuid4(), "routine", test)
                book.add(rule, node, reg, get_index(s).substances_in_class)
                for ref in in_python:
                    assert rule in book.candidates(by_ref[ref]), (raw, ref)

    agree()
