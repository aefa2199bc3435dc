"""Property: whatever order several reports for one message arrive in, the final state is the same."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_receipts.storage import DELIVERY_STATE, ReceiptStore

from store_support import parse, report, table_contents

REPORTS = [
    report(success=True, report_time="2026-11-25 10:00:05"),
    report(success=False, err_code="UNDELIV", report_time="2026-11-25 10:00:05"),
    report(success=False, err_code="EXPIRED", report_time="2026-11-25 10:03:00"),
    report(success=True, report_time="2026-11-25 10:03:00", err_code="DELIVRD"),
    report(success=True, report_time="2026-11-25 10:01:00"),
    report(success=False, err_code="MK:0001", report_time="2026-11-25 09:59:59"),
]
ITEMS = parse(REPORTS)[0]


def final_state(backend):
    return table_contents(backend, DELIVERY_STATE)[("900619746936498440^0", "13800000001")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(len(ITEMS))), split=st.integers(min_value=1, max_value=len(ITEMS)))
def test_final_state_is_independent_of_arrival_order(backend, order, split):
    # Each example starts from an empty state table (the ledger keeps its rows: later examples then
    # meet duplicates too, which must not matter either).
    for row in list(backend.scan(DELIVERY_STATE)):
        backend.client.delete_row(backend.table_name(DELIVERY_STATE), _row_key(row), None)
    store = ReceiptStore(backend)
    ordered = [ITEMS[i] for i in order]
    for start in range(0, len(ordered), split):
        store.write(ordered[start : start + split])
    state = final_state(backend)
    # the newest report time wins; at 10:03:00 the expired (a failure) outranks the delivered one
    assert state["status"] == "expired"
    assert state["winner"] == ITEMS[2].idempotency_key


def _row_key(row):
    from tablestore import Row

    return Row([("biz_id", row["biz_id"]), ("phone_number", row["phone_number"])])


@given(
    a=st.tuples(
        st.integers(min_value=0, max_value=2**63 - 1), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
    ),
    b=st.tuples(
        st.integers(min_value=0, max_value=2**63 - 1), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
    ),
)
def test_the_order_key_sorts_as_version_then_winner(a, b):
    from sms_receipts.storage.plan import order_key

    assert (order_key(*a) < order_key(*b)) == (a < b)
    assert (order_key(*a) == order_key(*b)) == (a == b)
