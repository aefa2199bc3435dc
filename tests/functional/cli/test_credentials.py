"""Credentials the way aliyun CLI users keep them: a real `~/.aliyun/config.json` (the file `aliyun
configure` writes, read by alibabacloud-credentials' CLIProfileCredentialsProvider) in a temporary HOME,
and the operator's commands against the Tablestore emulator, which checks every request's signature:
only the right profile's keys get an answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sms_receipts import cli, instance
from sms_receipts.parsing import MessageType, decode_http_body
from sms_receipts.storage import DELIVERY_STATE
from sms_receipts.storage.settings import STORAGE_ENV_VARS
from sms_receipts_dev.local.dev import DevStack

from function_support import ROOT
from helpers import load_event

SCRIPT = Path(sys.executable).with_name("sms-receipts")


def aliyun_config(home: Path, emulator_info: dict, current: str = "other") -> Path:
    """The aliyun CLI's config file, as `aliyun configure --profile NAME --mode AK` leaves it."""
    common = {"region_id": "cn-hangzhou", "output_format": "json", "language": "en", "site": "china"}
    profiles = [
        {
            "name": "sms",
            "mode": "AK",
            "access_key_id": emulator_info["access_key_id"],
            "access_key_secret": emulator_info["access_key_secret"],
            **common,
        },
        {"name": "other", "mode": "AK", "access_key_id": "LTAI-other", "access_key_secret": "other-secret", **common},
    ]
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"current": current, "profiles": profiles, "meta_path": ""}, indent=4))
    return path


@pytest.fixture
def cloud(storage_env, emulator, tmp_path, monkeypatch):
    """A receipt stored; the process environment names the Tablestore (the emulator) but holds no keys;
    HOME holds the aliyun CLI config; the ECS metadata service is never asked (it is not on loopback)."""
    items = decode_http_body(load_event("http/sms_report_single.json"), MessageType.SMS_REPORT).items
    assert instance.current().store().write(items).confirmed
    for name in [n for n in os.environ if n.startswith("ALIBABA_CLOUD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    aliyun_config(tmp_path, emulator.connection_info())
    biz_id = items[0].to_json_dict()["record"]["biz_id"]
    return {"biz_id": biz_id, "env": {k: v for k, v in os.environ.items()}}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env)


def test_a_profile_named_on_the_command_line_signs_the_requests(cloud):
    done = run("query", "--biz-id", cloud["biz_id"], "--profile", "sms", env=cloud["env"])
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["table"] for line in done.stdout.splitlines()] == [DELIVERY_STATE, "receipt_ledger"]
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" not in cloud["env"]


def test_the_global_option_and_the_environment_variable_name_it_too(cloud):
    before = run("--profile", "sms", "query", "--biz-id", cloud["biz_id"], env=cloud["env"])
    assert before.returncode == 0, before.stderr
    by_variable = run("query", "--biz-id", cloud["biz_id"], env={**cloud["env"], "ALIBABA_CLOUD_PROFILE": "sms"})
    assert by_variable.returncode == 0, by_variable.stderr
    assert before.stdout == by_variable.stdout


def test_without_a_profile_the_files_current_one_is_used(cloud):
    done = run("query", "--biz-id", cloud["biz_id"], env=cloud["env"])  # current: "other", unknown keys
    assert done.returncode == 1
    assert done.stderr.startswith("sms-receipts query: Tablestore said OTSAuthFailed")
    assert "Traceback" not in done.stderr


def test_a_missing_profile_is_one_line_naming_the_file_and_its_profiles(cloud, tmp_path):
    done = run("query", "--biz-id", cloud["biz_id"], "--profile", "prod", env=cloud["env"])
    assert done.returncode == 2
    config = tmp_path / ".aliyun" / "config.json"
    assert done.stderr == (
        f"sms-receipts query: --profile prod: no such profile in {config} "
        "(it has: sms, other; aliyun configure --profile prod adds it)\n"
    )


def test_no_credentials_anywhere_names_where_they_were_looked_for(cloud, tmp_path, capsys):
    (tmp_path / ".aliyun" / "config.json").unlink()
    assert cli.main(["export", "--table", "ledger"]) == cli.EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("sms-receipts export: no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and")
    assert str(tmp_path / ".aliyun" / "config.json") in line and "credentials.ini" in line and "--profile" in line


def test_the_credentials_ini_file_is_the_chains_next_place(cloud, emulator, tmp_path, capsys):
    (tmp_path / ".aliyun" / "config.json").unlink()
    info = emulator.connection_info()
    ini = tmp_path / ".alibabacloud" / "credentials.ini"
    ini.parent.mkdir()
    ini.write_text(
        f"[default]\ntype = access_key\naccess_key_id = {info['access_key_id']}\n"
        f"access_key_secret = {info['access_key_secret']}\n"
    )
    assert cli.main(["query", "--biz-id", cloud["biz_id"]]) == cli.EXIT_OK
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_the_environments_keys_come_before_the_chain_and_a_profile_before_them(cloud, emulator, monkeypatch, capsys):
    info = emulator.connection_info()
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", info["access_key_id"])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", info["access_key_secret"])
    assert cli.main(["query", "--biz-id", cloud["biz_id"]]) == cli.EXIT_OK  # the file's current is not asked
    assert cli.main(["query", "--biz-id", cloud["biz_id"], "--profile", "other"]) == cli.EXIT_REJECTED
    assert "OTSAuthFailed" in capsys.readouterr().err


def test_the_local_stack_keeps_its_own_keys_whatever_profile_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith("ALIBABA_CLOUD_") or n in STORAGE_ENV_VARS]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    with DevStack(port=0, data_dir=tmp_path / "data", token="t", drain_seconds=None) as stack:
        aliyun_config(tmp_path, {"access_key_id": "LTAI-cloud", "access_key_secret": "cloud-secret"}, current="sms")
        data_dir = str(stack.data_dir)
        assert cli.main(["init-tables", "--profile", "sms", "--data-dir", data_dir]) == cli.EXIT_OK
        assert cli.main(["export", "--table", "sends", "--profile", "sms", "--data-dir", data_dir]) == cli.EXIT_OK
    assert "Traceback" not in capsys.readouterr().err


def test_a_profile_the_chain_cannot_use_says_why(cloud, tmp_path, capsys):
    config = tmp_path / ".aliyun" / "config.json"
    data = json.loads(config.read_text())
    data["profiles"].append({"name": "sso", "mode": "Passwordless"})
    config.write_text(json.dumps(data))
    assert cli.main(["query", "--biz-id", cloud["biz_id"], "--profile", "sso"]) == cli.EXIT_USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"sms-receipts query: --profile sso: the profile in {config} gave no credentials: ")
    assert "unsupported profile mode 'Passwordless'" in line
