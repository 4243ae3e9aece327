"""The one settings declaration: types, bounds, choices, derived defaults, one-line errors."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams import settings
from streams.cli import main as cli


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the defaults whatever the calling shell exported."""
    for name in settings.Settings.model_fields:
        monkeypatch.delenv(settings.env_name(name), raising=False)
    monkeypatch.setenv("NEWSSTREAM_CORENLP", "false")


def test_every_field_has_a_variable_a_description_and_a_stated_default() -> None:
    rows = settings.describe()
    assert len(rows) == len(settings.Settings.model_fields) == len({env for env, _, _ in rows})
    for env, default, meaning in rows:
        assert env.startswith("NEWSSTREAM_") or env == "KIBANA_URL"
        assert meaning
        assert default or env == "NEWSSTREAM_FEEDS_ALLOW_NETWORKS"  # its default is the empty list


def test_types_come_from_the_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_PARTITIONS", " 8 ")
    monkeypatch.setenv("NEWSSTREAM_BULK_MAX_SECONDS", "2")
    monkeypatch.setenv("NEWSSTREAM_ES_VERIFY_CERTS", "off")
    monkeypatch.setenv("NEWSSTREAM_REPLICATION", "3")  # a variable named apart from its field
    s = settings.load()
    assert (s.partitions, s.bulk_max_seconds, s.es_verify_certs, s.replication_factor) == (8, 2.0, False, 3)
    assert isinstance(s.bulk_max_seconds, float)


def test_derived_defaults_follow_their_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_KAFKA_PORT", "19092")
    monkeypatch.setenv("NEWSSTREAM_ES_PORT", "19200")
    monkeypatch.setenv("NEWSSTREAM_CORENLP_PORT", "19010")
    s = settings.load()
    assert s.kafka_bootstrap == "localhost:19092"
    assert s.es_url == "http://localhost:19200"
    assert s.es_transport_port == 19300
    assert s.corenlp_url == "http://127.0.0.1:19010"
    monkeypatch.setenv("NEWSSTREAM_CORENLP_URL", "http://nlp.example:9000")
    monkeypatch.setenv("NEWSSTREAM_ES_TRANSPORT_PORT", "19999")
    s = settings.load()
    assert (s.corenlp_url, s.es_transport_port) == ("http://nlp.example:9000", 19999)


def test_choices_are_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_LOG_LEVEL", "debug")
    monkeypatch.setenv("NEWSSTREAM_LOG_FORMAT", "TEXT")
    monkeypatch.setenv("NEWSSTREAM_STORE", " memory:// ")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SECURITY_PROTOCOL", "ssl")
    s = settings.load()
    assert (s.log_level, s.log_format, s.store, s.kafka_security_protocol) == (
        "DEBUG", "text", "memory://", "SSL",
    )  # fmt: skip
    assert s.kafka_client_options() == {"security_protocol": "SSL"}
    assert type(s.kafka_client_options()["security_protocol"]) is str


def test_an_empty_optional_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_ES_USERNAME", "")
    monkeypatch.setenv("NEWSSTREAM_ES_API_KEY", "")
    monkeypatch.setenv("NEWSSTREAM_SPACY_MODELS", "")  # not optional: empty is a value
    s = settings.load()
    assert s.es_username is None and s.es_api_key is None
    assert s.spacy_models == ""


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NEWSSTREAM_WEB_PORT": "70000"}, "NEWSSTREAM_WEB_PORT='70000': input should be less than"),
        ({"NEWSSTREAM_UI_PORT": "0"}, "NEWSSTREAM_UI_PORT='0': input should be greater than"),
        ({"NEWSSTREAM_REPLICATION": "x"}, "NEWSSTREAM_REPLICATION='x': input should be a valid integer"),
        ({"NEWSSTREAM_BULK_TIMEOUT": "0"}, "NEWSSTREAM_BULK_TIMEOUT='0': input should be greater than 0"),
        ({"NEWSSTREAM_NLP_BATCH": "-1"}, "NEWSSTREAM_NLP_BATCH='-1'"),
        ({"NEWSSTREAM_DEDUP_THRESHOLD": "1.5"}, "NEWSSTREAM_DEDUP_THRESHOLD='1.5'"),
        ({"NEWSSTREAM_CORENLP": "maybe"}, "NEWSSTREAM_CORENLP='maybe': input should be a valid boolean"),
        ({"NEWSSTREAM_STORE": "redis://"}, "NEWSSTREAM_STORE='redis://' is not one of rocksdb://, memory://"),
        ({"NEWSSTREAM_LOG_LEVEL": "loud"}, "NEWSSTREAM_LOG_LEVEL='loud' is not one of DEBUG"),
        ({"NEWSSTREAM_ES_REPLICAS": "two"}, "NEWSSTREAM_ES_REPLICAS='two' is not a number"),
        ({"NEWSSTREAM_ES_PORT": "65500"}, "NEWSSTREAM_ES_TRANSPORT_PORT=65600 is above 65535"),
        ({"NEWSSTREAM_MAX_MESSAGE_BYTES": str(64 << 20)}, "must be above NEWSSTREAM_MAX_MESSAGE_BYTES"),
        ({"NEWSSTREAM_FEEDS_MIN_INTERVAL": "900", "NEWSSTREAM_FEEDS_MAX_INTERVAL": "60"},
         "NEWSSTREAM_FEEDS_MIN_INTERVAL=900 is above NEWSSTREAM_FEEDS_MAX_INTERVAL=60"),
        ({"KIBANA_URL": "x", "NEWSSTREAM_PARTITIONS": "0", "NEWSSTREAM_WEB_PORT": "p"},
         "NEWSSTREAM_PARTITIONS='0': input should be greater than or equal to 1; NEWSSTREAM_WEB_PORT"),
    ],
)
def test_a_bad_value_is_one_error_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, env: dict[str, str], needle: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(settings.ConfigError) as info:
        settings.load()
    assert needle in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert cli.main(["config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0] == f"error: {info.value}"


def test_a_secret_that_fails_is_named_but_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("NEWSSTREAM_KAFKA_SASL_PASSWORD", "Sasl-Pa55word")
    with pytest.raises(settings.ConfigError) as info:
        settings.load()
    assert "NEWSSTREAM_KAFKA_SASL_USERNAME" in str(info.value)
    assert "Sasl-Pa55word" not in str(info.value)


def test_secrets_are_secretstr_and_revealed_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAM_ES_PASSWORD", "Basic-Pa55word")
    s = settings.load()
    assert isinstance(s.es_password, SecretStr)
    assert "Basic-Pa55word" not in f"{s.es_password} {s!r} {s}"
    assert settings.reveal(s.es_password) == "Basic-Pa55word"
    assert s.display("es_password") == "***" and s.display("es_username") == ""


def test_replace_validates_and_keeps_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings.load()
    t = s.replace(partitions=2, replication_factor=3)
    assert (t.partitions, t.replication_factor, t.es_url) == (2, 3, s.es_url)
    assert s.partitions == 4  # the original is untouched (frozen)
    with pytest.raises(settings.ConfigError, match="NEWSSTREAM_PARTITIONS=0"):
        s.replace(partitions=0)
    with pytest.raises(settings.ConfigError, match="no_such_field"):
        s.replace(no_such_field=1)
    with pytest.raises(Exception, match="frozen"):
        s.partitions = 5  # type: ignore[misc]


def test_load_reads_the_environment_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings.load()
    assert settings.load() is first  # the same environment: built once
    monkeypatch.setenv("NEWSSTREAM_PARTITIONS", "6")
    assert settings.load().partitions == 6
    monkeypatch.setenv("newsstream_partitions", "7")  # names in any case, like the library reads
    monkeypatch.delenv("NEWSSTREAM_PARTITIONS")
    assert settings.load().partitions == 7


def test_config_lists_the_declaration(capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["config"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [env for env, _, _ in settings.describe()]
    assert "NEWSSTREAM_CORENLP=false    # " in "\n".join(lines)
