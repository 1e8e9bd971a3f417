"""Reading the warehouse into frames: the same columns, in order, on both backends."""

from __future__ import annotations

from etl.warehouse import open_warehouse


def test_columns_with_the_same_name_stay_apart(warehouse_url):
    wh = open_warehouse(warehouse_url)
    try:
        frame = wh.read_df("SELECT 1 AS n, 'a' AS label, 2 AS n UNION ALL SELECT 3, 'b', 4")
        empty = wh.read_df("SELECT 1 AS n, 2 AS n WHERE 1 = 0")
    finally:
        wh.dispose()
    assert list(frame.columns) == ["n", "label", "n"]
    assert frame.values.tolist() == [[1, "a", 2], [3, "b", 4]]
    assert list(empty.columns) == ["n", "n"] and len(empty) == 0
