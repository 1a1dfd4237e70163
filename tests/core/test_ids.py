import uuid

from interdict.core.ids import uuid4_fast


def test_fast_uuid4_is_a_valid_random_version_4_uuid() -> None:
    ids = [uuid4_fast() for _ in range(2000)]
    assert len(set(ids)) == 2000
    for u in ids[:200]:
        assert u.version == 4 and u.variant == uuid.RFC_4122
        assert uuid.UUID(str(u)) == u and hash(uuid.UUID(str(u))) == hash(u)
        assert u.hex == str(u).replace("-", "")
