"""Report builders: eval JSON, markdown tables against the paper, the paper's constants."""

import collections
import json
import os

import numpy as np
import pytest

from ave_tf.data import ave_metadata
from ave_tf.evaluation import report
from ave_tf.evaluation.metrics import SegmentMetrics


def test_markdown_table_golden():
    rows = [
        {"name": "A", "values": [0.60, 0.62, 0.58]},
        {"name": "A+V-att", "label": "A+V-att (ours)", "values": [0.731]},
        {"name": "W-A", "values": []},
        {"name": "ED-TCN", "values": [0.5]},
    ]
    expected = (
        "| model | paper | ours mean ± std (n seeds) | Δ |\n"
        "|---|---|---|---|\n"
        "| A | 59.5 | 60.0 ± 2.0 (n=3) | +0.5 |\n"
        "| A+V-att (ours) | 72.7 | 73.1 (n=1) | +0.4 |\n"
        "| W-A | 53.4 | - | - |\n"
        "| ED-TCN | - | 50.0 (n=1) | - |\n"
    )
    assert report.markdown_table(rows, report.PAPER_TABLE1) == expected


def test_markdown_table_walks_nested_paper_tables():
    rows = [{"name": "late/dmrn", "values": [0.7, 0.72]}, {"name": "early/dmrfe", "values": []}]
    text = report.markdown_table(rows, report.PAPER_TABLE2, name_header="fusion")
    assert text.splitlines()[0] == "| fusion | paper | ours mean ± std (n seeds) | Δ |"
    assert text.splitlines()[2] == "| late/dmrn | 73.1 | 71.0 ± 1.4 (n=2) | -2.1 |"
    assert text.splitlines()[3] == "| early/dmrfe | - | - | - |"


def test_markdown_grid_golden_table3_layout():
    results = {"AVDLN": {"a2v": [0.40, 0.42], "v2a": [0.33]}, "ours-extra": {"a2v": [0.5]}}
    expected = (
        "| model | a2v | v2a |\n"
        "|---|---|---|\n"
        "| AVDLN | 41.0 ± 1.4 (paper 44.8) | 33.0 (paper 35.6) |\n"
        "| DCCA | - (paper 34.8) | - (paper 34.1) |\n"
        "| ours-extra | 50.0 | - |\n"
    )
    assert report.markdown_grid(results, report.PAPER_TABLE3, corner="model") == expected


def test_lookup_paper():
    assert report.lookup_paper(report.PAPER_TABLE2, "decision/max") == 64.5
    assert report.lookup_paper(report.PAPER_TABLE2, "early/dmrfe") is None
    assert report.lookup_paper(report.PAPER_TABLE2, "late") is None  # a row, not a number
    assert report.lookup_paper(report.PAPER_TABLE3, "DCCA/v2a") == 34.1
    assert report.lookup_paper(report.PAPER_TABLE1, "nope/x") is None


def test_table2_dmrn_late_is_the_best_published_late_fusion_but_dmrfe():
    late = report.PAPER_TABLE2["late"]
    assert sorted(late, key=late.get)[-2:] == ["dmrn", "dmrfe"]
    assert all(len(row) == 10 for row in report.PAPER_TABLE2.values())


def test_supp_table1_rows_reproduce_the_published_overall_accuracy():
    # Weighting each class by its number of test videos must give back the paper's overall
    # accuracy (Table 1: A 59.5, A+V 71.4): this checks the column -> class mapping and
    # that the supplementary per-class numbers are per *video* class.
    annotations = ave_metadata.read_annotations()
    test_order = ave_metadata.default_split_orders()["test"]
    videos_per_class = collections.Counter(annotations[i].category for i in test_order)
    table = report.paper_supp_table1()
    for row, overall in (("A", 59.5), ("AV_s", 71.4)):
        values = table[row]
        assert list(values) == list(ave_metadata.class_names()[:28])
        weights = np.array([videos_per_class[name] for name in values])
        weighted = np.dot(list(values.values()), weights) / weights.sum()
        assert weighted == pytest.approx(overall, abs=0.05)
    assert table["V_s"]["Fixed-wing aircraft, airplane"] == 68.3
    assert report.short_class_names()["Rodents, rats, mice"] == "rodent"


def test_mean_std():
    mean, std = report.mean_std([0.70, 0.72, 0.74])
    assert mean == pytest.approx(0.72)
    assert std == pytest.approx(0.02)
    assert report.mean_std([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match="at least one"):
        report.mean_std([])


def test_write_eval_json_round_trip(tmp_path):
    metrics = SegmentMetrics()
    metrics.update(np.array([[2, 28]]), np.array([[2, 2]]), video_labels=np.array([2]))
    path = tmp_path / "new_dir" / "eval.json"
    extra = {"split": "test", "checkpoint_step": np.int64(7), "loss": np.float32(np.nan)}
    report.write_eval_json(str(path), metrics.result(), extra)
    written = json.loads(path.read_text())
    assert written["accuracy"] == 0.5
    assert written["per_class"]["Bark"] == 1.0
    assert written["per_class"]["Cat"] is None
    assert written["split"] == "test"
    assert written["checkpoint_step"] == 7
    assert written["loss"] is None  # NaN is not JSON
    assert len(written["confusion_matrix"]) == 29
    assert os.listdir(path.parent) == ["eval.json"]


def test_write_eval_json_leaves_nothing_half_written(tmp_path):
    path = tmp_path / "eval.json"
    path.write_text('{"accuracy": 0.25}\n')
    with pytest.raises(TypeError):
        report.write_eval_json(str(path), {"accuracy": 0.5, "bad": object()})
    with pytest.raises(ValueError, match="would overwrite metrics"):
        report.write_eval_json(str(path), {"accuracy": 0.5}, {"accuracy": 1.0})
    assert json.loads(path.read_text()) == {"accuracy": 0.25}
    assert os.listdir(tmp_path) == ["eval.json"]


def test_summary_text():
    result = {
        "accuracy": 0.7125,
        "num_segments": 4020,
        "num_videos": 402,
        "mean_class_accuracy": None,
        "event_vs_background": {"precision": 0.5, "recall": None, "f1": None},
    }
    assert report.summary_text(result) == (
        "accuracy: 0.7125 over 4020 segments of 402 videos\n"
        "mean_class_accuracy: n/a\n"
        "event vs background: precision=0.5000 recall=n/a f1=n/a\n"
    )
    assert report.summary_text({"a2v": 0.4, "v2a": 0.3}) == "a2v: 0.4000\nv2a: 0.3000\n"
