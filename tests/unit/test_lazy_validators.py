"""The receipt models' validators are built on first use, not at import: a cold instance builds only
those of the types it receives (BENCHMARKS.md, cold start). Threads that race for a first build each
get records of the right model, the same as a warm process gives. Checked in a fresh interpreter:
this one's other tests have built every model already."""

from __future__ import annotations

import json
import subprocess
import sys

from sms_receipts.parsing import decode_http_body, record_dict

from helpers import load_event

# One push per model (the legacy international schema included), each decoded by the path's type.
PUSHES = {
    "SmsReport": ("http/sms_report_batch_shared_biz_id.json", "/SmsReport"),
    "SmsUp": ("http/sms_up_batch.json", "/SmsUp"),
    "SignSmsReport": ("http/sign_sms_report_rejected.json", "/SignSmsReport"),
    "TemplateSmsReport": ("http/template_sms_report_rejected.json", "/TemplateSmsReport"),
    "MnsCardVender": ("http/mns_card_vender_render_status_number.json", "/MnsCardVender"),
    "MnsCardTemplate": ("http/mns_card_template_mixed_states.json", "/MnsCardTemplate"),
    "GlobeSmsReport": ("alicom/globe_sms_report.json", "/GlobeSmsReport"),  # one object: accepted as a push
    "IntlSmsReport": ("http/intl_sms_report_batch.json", "/SmsReport"),
    "LegacyIntlSmsReport": ("http/intl_sms_report_legacy_2019.json", "/SmsReport"),
}

CHILD = r"""
import json, sys, threading
from sms_receipts.parsing import decode_http_body, record_dict
from sms_receipts.parsing.models import ALL_MODELS

def built():
    return sorted(m.__name__ for m in ALL_MODELS if m.__pydantic_complete__)

def decoded(result):
    items = [[type(i.record).__name__, i.idempotency_key, i.entity_key, record_dict(i.record)] for i in result.items]
    return {"items": items, "rejected": [r.reason for r in result.rejected]}

pushes = json.loads(sys.stdin.read())
report = {"at_import": built()}
body, path = pushes.pop("SmsReport")
report["SmsReport"] = decoded(decode_http_body(body.encode(), path=path))
report["after_one_type"] = built()
# One thread per other type, all released at once: they race for their first builds.
barrier = threading.Barrier(len(pushes))
def decode(name, body, path):
    barrier.wait()
    report[name] = decoded(decode_http_body(body.encode(), path=path))
threads = [threading.Thread(target=decode, args=(name, *push)) for name, push in pushes.items()]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
report["after_all"] = built()
print(json.dumps(report))
"""


def decoded(body: bytes, path: str) -> dict:
    result = decode_http_body(body, path=path)
    return {
        "items": [
            [type(i.record).__name__, i.idempotency_key, i.entity_key, record_dict(i.record)] for i in result.items
        ],
        "rejected": [r.reason for r in result.rejected],
    }


def fresh_process() -> dict:
    pushes = {name: [load_event(fixture).decode("utf-8"), path] for name, (fixture, path) in PUSHES.items()}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], input=json.dumps(pushes), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_push_builds_only_its_own_model_and_threads_racing_for_the_rest_get_the_warm_results():
    report = fresh_process()
    assert report["at_import"] == []
    assert report["after_one_type"] == ["SmsReport"]
    assert report["after_all"] == sorted(PUSHES)
    for name, (fixture, path) in PUSHES.items():
        expected = decoded(load_event(fixture), path)  # this process: every model built long since
        assert report[name] == json.loads(json.dumps(expected)), name
        assert expected["items"] and not expected["rejected"], name
        assert {item[0] for item in expected["items"]} == {name}
