"""The Celery app built from settings: schedule, broker, delivery guarantees."""

from __future__ import annotations

import pytest
from celery.schedules import crontab

from sync.config import ConfigError, Settings, load_settings
from sync.jobs.celery_app import create_celery


def test_the_schedule_is_the_configured_cron_line(settings: Settings) -> None:
    celery = create_celery(settings.model_copy(update={"sync_schedule": "30 3 * * 1-5",
                                                       "broker_url": "redis://127.0.0.1:1/0"}))
    entry = celery.conf.beat_schedule["nightly-sync"]
    assert entry["task"] == "hr2bi.sync"
    assert entry["schedule"] == crontab(minute="30", hour="3", day_of_week="1-5")
    assert not celery.conf.task_always_eager and celery.conf.task_acks_late
    assert celery.conf.task_reject_on_worker_lost and celery.conf.worker_prefetch_multiplier == 1


def test_a_cron_line_without_five_fields_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="sync_schedule.*five fields"):
        load_settings(sync_schedule="0 2 * *")


def test_a_cron_field_out_of_range_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="sync_schedule '61 2 \\* \\* \\*' is not a cron line"):
        create_celery(settings.model_copy(update={"sync_schedule": "61 2 * * *"}))


def test_broker_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    assert load_settings().broker_url == "amqp://guest:guest@127.0.0.1:5672//"
