import time
import uuid

from interdict.core.ids import uuid7


def test_uuid7_is_valid_time_ordered_and_unique() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid7() for _ in range(5000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == 5000
    for u in ids[:300]:
        assert u.version == 7 and u.variant == uuid.RFC_4122
        assert uuid.UUID(str(u)) == u and hash(uuid.UUID(str(u))) == hash(u)
        assert before <= u.int >> 80 <= after
    stamps = [u.int >> 80 for u in ids]
    assert stamps == sorted(stamps)  # creation order is index order (to the millisecond)
