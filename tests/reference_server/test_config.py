from pathlib import Path

import pytest

from reference_server.config import ServerConfig, parse_config


def test_defaults_bind_loopback():
    config = parse_config([], environ={})
    assert config == ServerConfig()
    assert config.host == "127.0.0.1"


def test_flags_set_every_engine_knob():
    config = parse_config(
        ["--threads", "1", "--onednn", "off", "--instances", "2", "--rec-batch", "1", "--warmup", "off",
         "--preset", "tiny", "--max-queue", "0", "--extra-buckets", "0.15,1.5", "--model-dir", "m"],
        environ={},
    )
    assert (config.threads, config.onednn, config.instances, config.rec_batch, config.warmup) == (1, False, 2, 1, False)
    assert config.preset == "tiny" and config.max_queue == 0 and config.extra_buckets == (0.15, 1.5)
    assert config.model_dir == Path("m")


def test_environment_variables_are_an_alternative_and_flags_win():
    env = {"OCR_THREADS": "1", "OCR_ONEDNN": "off", "OCR_REC_BATCH": "3"}
    config = parse_config(["--rec-batch", "4"], environ=env)
    assert (config.threads, config.onednn, config.rec_batch) == (1, False, 4)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--threads", "0"], {}, "must be at least 1"),
        (["--onednn", "maybe"], {}, "is not on/off"),
        (["--preset", "huge"], {}, "is not one of tiny, base"),
        (["--extra-buckets", "0.1,-2"], {}, "positive number of seconds"),
        ([], {"OCR_THREADS": "two"}, "OCR_THREADS"),
    ],
)
def test_bad_values_name_the_option_and_what_is_accepted(argv, env, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_config(argv, environ=env)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
