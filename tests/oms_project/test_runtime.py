"""Server processes tune the garbage collector once loaded."""

import gc

import pytest
from django.core.exceptions import ImproperlyConfigured

from oms_project.runtime import DEFAULT_THRESHOLDS, gc_thresholds, gc_tune


@pytest.fixture
def gc_restored():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_thresholds_default_when_unset_or_empty():
    assert gc_thresholds(None) == DEFAULT_THRESHOLDS
    assert gc_thresholds("") == DEFAULT_THRESHOLDS


def test_thresholds_are_read_from_the_environment_value():
    assert gc_thresholds("10000,5,50") == (10000, 5, 50)


@pytest.mark.parametrize("value", ["10000", "a,b,c", "1,2,3,4", "0,10,10", "-5,10,10", "1.5,2,3"])
def test_bad_thresholds_are_refused_with_a_clear_error(value):
    with pytest.raises(ImproperlyConfigured, match="OMS_GC_THRESHOLDS must be three positive"):
        gc_thresholds(value)


def test_tuning_freezes_what_is_loaded_and_sets_the_thresholds(monkeypatch, gc_restored):
    monkeypatch.setenv("OMS_GC_THRESHOLDS", "30000,15,60")
    gc.unfreeze()
    gc_tune()
    assert gc.get_freeze_count() > 1000  # Django and the apps, not collected any more
    assert gc.get_threshold() == (30000, 15, 60)


def test_a_bad_environment_value_changes_nothing(monkeypatch, gc_restored):
    monkeypatch.setenv("OMS_GC_THRESHOLDS", "lots")
    gc.unfreeze()
    before = gc.get_threshold()
    with pytest.raises(ImproperlyConfigured):
        gc_tune()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
