"""IdMap: raw MovieLens ids to model indices and back."""

from __future__ import annotations

from movierec.ids import IdMap


def test_id_map_round_trip_with_gaps():
    ids = IdMap([193609, 1, 50, 50, 7])
    assert len(ids) == 4 and list(ids.raw_ids) == [1, 7, 50, 193609]
    assert ids.indices([1, 193609, 50]).tolist() == [0, 3, 2]
    assert ids.raw(ids.indices([7, 193609])).tolist() == [7, 193609]


def test_unknown_ids_map_to_minus_one():
    ids = IdMap([1, 50])
    assert ids.index(2) == -1 and ids.indices([2, 50]).tolist() == [-1, 1]
    assert 2 not in ids and 50 in ids
