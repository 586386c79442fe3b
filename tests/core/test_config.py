"""Configuration arithmetic and its bad-input rules, through the real `ocis` command."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ocisd import logs
from ocisd.config import loader
from ocisd.config.schema import ConfigError, Duration, parse_env, settings_of
from ocisd.discovery import installed
from tests.support.harness import Deployment


def config_json(
    dep: Deployment, name: str = "hello", env: dict[str, str] | None = None
) -> dict[str, dict[str, object]]:
    res = dep.ocis(name, "config", "--json", env=env)
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout))


def add_to_main(dep: Deployment, text: str) -> Path:
    path = dep.config_dir / "ocis.toml"
    path.write_text(path.read_text() + text)
    return path


def failure(dep: Deployment, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a command that must fail on config: exit 2, one line, no traceback."""
    res = dep.ocis(*args, env=env)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_four_layers_in_order(dep: Deployment, fmt: str) -> None:
    main = dep.config_dir / "ocis.toml"
    base = main.read_text()
    if fmt == "yaml":
        # The same secrets as YAML: YAML is a superset of this flat TOML's key = "value" lines.
        main.unlink()
        main = dep.config_dir / "ocis.yaml"
        body = "\n".join(line.replace(" = ", ": ", 1) for line in base.splitlines() if line.strip())
        main.write_text(body + '\nlog_level: warning\nlog_format: json\nhello:\n  greeting: "Hi %s"\n')
        own = dep.config_dir / "hello.yaml"
        own.write_text('greeting: "Hey %s"\nlog_level: error\n')
    else:
        main.write_text(base + '\nlog_level = "warning"\nlog_format = "json"\n[hello]\ngreeting = "Hi %s"\n')
        own = dep.config_dir / "hello.toml"
        own.write_text('greeting = "Hey %s"\nlog_level = "error"\n')
    cfg = config_json(dep, env={"HELLO_HTTP_ADDR": "127.0.0.1:3"})
    assert cfg["url"] == {"value": "https://localhost:9200", "source": "default"}
    assert cfg["log_format"] == {"value": "json", "source": str(main)}
    assert cfg["greeting"] == {"value": "Hey %s", "source": str(own)}
    assert cfg["log_level"] == {"value": "error", "source": str(own)}
    assert cfg["http_addr"] == {"value": "127.0.0.1:3", "source": "HELLO_HTTP_ADDR"}
    own.unlink()
    assert config_json(dep)["greeting"] == {"value": "Hi %s", "source": str(main)}
    # The shared key from env beats files; the extension's own env name beats the shared one.
    cfg = config_json(dep, env={"OCIS_LOG_LEVEL": "debug"})
    assert cfg["log_level"] == {"value": "debug", "source": "OCIS_LOG_LEVEL"}
    cfg = config_json(dep, env={"OCIS_LOG_LEVEL": "debug", "HELLO_LOG_LEVEL": "info"})
    assert cfg["log_level"] == {"value": "info", "source": "HELLO_LOG_LEVEL"}


def test_secrets_are_masked_unless_asked(dep: Deployment) -> None:
    masked = config_json(dep)
    assert masked["jwt_secret"]["value"] == "********"
    res = dep.ocis("hello", "config", "--json", "--show-secrets")
    shown = json.loads(res.stdout)
    assert shown["jwt_secret"]["value"] not in ("", "********")
    assert shown["jwt_secret"]["source"].endswith("ocis.toml")
    table = dep.ocis("hello", "config").stdout
    assert "KEY" in table and "SOURCE" in table and shown["jwt_secret"]["value"] not in table


def test_env_values_are_parsed_to_the_field_type(dep: Deployment) -> None:
    cfg = config_json(
        dep,
        env={
            "OCIS_INSECURE": "true",
            "OCIS_SHUTDOWN_GRACE": "1500ms",
            "OCIS_BUS_ALLOWED_CLIENT_KEYS": "a, b ,c",
        },
    )
    assert cfg["insecure"]["value"] is True
    assert cfg["shutdown_grace"]["value"] == 1.5
    assert cfg["bus_allowed_client_keys"]["value"] == ["a", "b", "c"]


def test_parsing_rules() -> None:
    assert parse_env(Duration, "30s") == 30 and parse_env(Duration, "5m") == 300 and parse_env(Duration, "2") == 2
    assert parse_env(bool, "off") is False and parse_env(int, " 7 ") == 7 and parse_env(float, "0.5") == 0.5
    for t, bad in ((bool, "maybe"), (int, "7x"), (Duration, "soon")):
        with pytest.raises(ValueError):
            parse_env(t, bad)


def test_unknown_key_in_main_file(dep: Deployment) -> None:
    path = add_to_main(dep, 'colour = "blue"\n')
    line = failure(dep, "hello", "config")
    assert str(path) in line and "'colour'" in line and "unknown key" in line


def test_unknown_key_in_extension_section_and_file(dep: Deployment) -> None:
    path = add_to_main(dep, '[hello]\ngreetings = "typo"\n')
    line = failure(dep, "hello", "config")
    assert str(path) in line and "hello.greetings" in line
    path.write_text(path.read_text().replace('[hello]\ngreetings = "typo"\n', ""))
    own = dep.config_dir / "hello.yaml"
    own.write_text("grpc_adr: x\n")
    line = failure(dep, "hello", "config")
    assert str(own) in line and "grpc_adr" in line


def test_wrong_type_in_file_names_file_key_type_and_value(dep: Deployment) -> None:
    path = dep.config_dir / "ocis.toml"
    path.write_text(path.read_text().replace("insecure = false", "insecure = 3"))
    line = failure(dep, "server")
    assert str(path) in line and "'insecure'" in line and "expected bool" in line and "3 (int)" in line


def test_wrong_type_in_env_names_the_variable(dep: Deployment) -> None:
    line = failure(dep, "hello", "config", env={"OCIS_SHUTDOWN_GRACE": "soon"})
    assert "OCIS_SHUTDOWN_GRACE" in line and "expected duration" in line and "'soon'" in line
    line = failure(dep, "server", env={"OCIS_INSECURE": "perhaps"})
    assert "OCIS_INSECURE" in line and "expected bool" in line


def test_bad_choice_is_refused(dep: Deployment) -> None:
    line = failure(dep, "hello", "config", env={"OCIS_LOG_LEVEL": "loud"})
    assert "OCIS_LOG_LEVEL" in line and "'loud'" in line
    # Values an extension checks itself are refused before anything starts, alone or in a runtime.
    line = failure(dep, "frontend", "server", env={"FRONTEND_CHECKSUMS_PREFERRED_UPLOAD_TYPE": "crc32"})
    assert "expected one of SHA1, MD5, ADLER32" in line and "'CRC32'" in line
    line = failure(dep, "server", env={"STORAGE_USERS_HOME_RANGE": "zz"})
    assert "home_range" in line and "'zz'" in line


OCIS_LEVELS = {
    "panic": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,  # the alias kept from before
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logs.TRACE,
}


@pytest.mark.parametrize("name", [*OCIS_LEVELS, "WARN", "Debug", "TRACE"])
def test_log_level_names_of_ocis(name: str, tmp_path: Path) -> None:
    env = {"OCIS_CONFIG_DIR": str(tmp_path), "OCIS_LOG_LEVEL": name, "HELLO_LOG_LEVEL": name}
    cfg = loader.load("hello", installed()["hello"].config, installed(), env)
    assert cfg.shared.log_level == name
    assert logs.level_of(name) == OCIS_LEVELS[name.lower()]
    assert logs.TRACE < logging.DEBUG


def test_bad_log_level_names_where_it_was_set(dep: Deployment) -> None:
    names = "expected one of panic, fatal, error, warn, info, debug, trace, found"
    line = failure(dep, "hello", "server", env={"HELLO_LOG_LEVEL": "verbose"})
    assert line == f"ocis: config error: env HELLO_LOG_LEVEL: {names} 'verbose'"
    main = add_to_main(dep, '\n[hello]\nlog_level = "warnings"\n')
    line = failure(dep, "server", env={"OCIS_RUN_EXTENSIONS": "bus,hello"})
    assert line == f"ocis: config error: {main}: key 'hello.log_level': {names} 'warnings'"


def test_runtime_starts_with_ocis_level_names(dep: Deployment) -> None:
    proc = dep.start_runtime("bus,hello", env={"OCIS_LOG_LEVEL": "warn", "HELLO_LOG_LEVEL": "Fatal"})
    assert proc.alive()


def test_unparsable_file(dep: Deployment) -> None:
    own = dep.config_dir / "hello.toml"
    own.write_text("greeting = \n")
    line = failure(dep, "hello", "server")
    assert str(own) in line and "cannot parse" in line


def test_both_formats_in_one_dir_is_an_error(dep: Deployment) -> None:
    (dep.config_dir / "ocis.yaml").write_text("log_level: info\n")
    line = failure(dep, "server")
    assert "ocis.yaml" in line and "ocis.toml" in line


def test_missing_secret_tells_to_run_init(bare: Deployment) -> None:
    line = failure(bare, "server")
    assert "jwt_secret" in line and "ocis init" in line
    line = failure(bare, "hello", "server")
    assert "ocis init" in line


def test_default_ports_are_fixed_and_distinct() -> None:
    seen: dict[int, str] = {}
    for name, cls in installed().items():
        assert cls.config is not None, name
        for s in settings_of(cls.config):
            if s.key.endswith("_addr"):
                port = int(s.default.rsplit(":", 1)[1])
                assert port not in seen, f"{name}.{s.key} and {seen[port]} share port {port}"
                seen[port] = f"{name}.{s.key}"
                host = s.default.rsplit(":", 1)[0]
                assert host == "127.0.0.1" or name == "proxy", f"{name}.{s.key} must bind loopback by default"
    assert seen.get(9250) is None  # the runtime's control port


def test_config_error_class_is_one_line() -> None:
    assert "\n" not in str(ConfigError("x: y"))
