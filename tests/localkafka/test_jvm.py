"""What reaches a person from the JVM: a checked heap size, one message line, a short log tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from localkafka import BrokerError
from localkafka.jvm import heap_bytes, java_complaint, log_tail, logging_args

STORAGE_TOOL_FAILURE = """\
Exception in thread "main" java.lang.IllegalArgumentException: Invalid cluster.id in: /d/meta
\tat org.apache.kafka.metadata.properties.MetaProperties.<init>(MetaProperties.java:123)
\tat kafka.tools.StorageTool.main(StorageTool.scala:45)
"""


def test_heap_sizes_use_the_jvm_units() -> None:
    assert heap_bytes("512m") == 512 << 20
    assert heap_bytes("1G") == 1 << 30
    assert heap_bytes("65536") == 65536
    with pytest.raises(BrokerError, match=r"'1\.5g' is not a JVM size; use e.g. 512m or 1g"):
        heap_bytes("1.5g")


def test_the_exception_message_is_the_line_shown() -> None:
    assert java_complaint(STORAGE_TOOL_FAILURE) == "Invalid cluster.id in: /d/meta"
    assert java_complaint("just a last line\n") == "just a last line"
    assert java_complaint("") == "no output"


def test_a_log_tail_leaves_out_stack_frames(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("first\nsecond\n" + STORAGE_TOOL_FAILURE + "\t... 3 more\nlast\n")
    assert log_tail(log, 2).splitlines() == [STORAGE_TOOL_FAILURE.splitlines()[0], "last"]
    assert log_tail(tmp_path / "missing.log", 5) == ""


def test_logging_goes_to_the_data_dirs_log_folder_with_the_shipped_config(tmp_path: Path) -> None:
    config, logs = logging_args(tmp_path / "logs")
    assert config.startswith("-Dlog4j2.configurationFile=")
    assert Path(config.partition("=")[2]).is_file()
    assert logs == f"-Dkafka.logs.dir={tmp_path / 'logs'}"
