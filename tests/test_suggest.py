"""Near-miss names get a suggestion; metric names are matched without regard to case (issue 30,
item 6)."""

import pytest

from modelrank.errors import MetricError, ModelrankError
from modelrank.util.suggest import close_matches, did_you_mean


def test_suggestions_by_hand():
    assert close_matches("efficientnet-lite0", ["efficientnet_lite0", "resnet50"]) == [
        "efficientnet_lite0"
    ]
    assert did_you_mean("LogME", ["logme", "leep"]).startswith(" (did you mean 'logme'")
    assert did_you_mean("zzzz", ["logme", "leep"]) == ""
    assert did_you_mean("knm", ["knn", "kmnist"]) in (
        " (did you mean 'knn'?)",
        " (did you mean 'knn' or 'kmnist'?)",
    )


def test_metric_names_ignore_case_and_a_misspelling_gets_a_suggestion():
    from modelrank.metrics import get_metric

    assert (
        get_metric("LogME").name == "logme" and get_metric("BETTI_CUBICAL").name == "betti-cubical"
    )
    with pytest.raises(MetricError, match=r"unknown metric 'logmee' \(did you mean 'logme'"):
        get_metric("logmee")


def test_unknown_model_data_set_class_group_and_suite_suggest_the_near_name():
    from modelrank.benchmark import load_suite
    from modelrank.data import load_target
    from modelrank.zoo import load_zoo, select

    with pytest.raises(
        ModelrankError, match=r"'efficientnet-lite0' \(did you mean 'efficientnet_lite0'"
    ):
        select(load_zoo(None), "efficientnet-lite0")
    with pytest.raises(ModelrankError, match=r"'ofline' \(did you mean 'offline'"):
        select(load_zoo(None), "ofline")  # a tag
    with pytest.raises(ModelrankError, match=r"'digts' \(did you mean 'digits'"):
        load_target("digts")
    with pytest.raises(ModelrankError, match=r"'evn' is not a class of digits"):
        load_target("digits[0,evn]")
    with pytest.raises(
        ModelrankError, match=r"'fmnist-imagenett' \(did you mean 'fmnist-imagenet'"
    ):
        load_suite("fmnist-imagenett")


def test_a_misspelt_class_group_gets_a_suggestion(tmp_path):
    from modelrank.data.class_subsets import resolve_classes

    names = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]
    with pytest.raises(
        ModelrankError,
        match=r"'footware' is not a class of fashion-mnist "
        r"\(did you mean 'footwear'\?\)",
    ):
        resolve_classes("fashion-mnist[footware]", "fashion-mnist", names, ["footware"])
