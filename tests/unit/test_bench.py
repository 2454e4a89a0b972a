"""The benchmark's statistics and Markdown helpers (bench/stats.py), and its RESULTS.md writer fed
with recorded numbers. No timing is measured or asserted here."""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "bench")
sys.path.insert(0, BENCH)

import stats as S  # noqa: E402


def test_summary_median_min_max_of_odd_and_even_counts():
    assert S.summary([3, 1, 2]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert S.summary([4, 1, 3, 2]) == {"median": 2.5, "min": 1.0, "max": 4.0, "n": 4}


def test_summary_drops_missing_values_and_is_none_when_empty():
    assert S.summary([None, 5, None])["n"] == 1
    assert S.summary([]) is None
    assert S.summary([None]) is None
    assert S.median_of([None, 1, 3]) == 2.0
    assert S.median_of([None]) is None


def test_ratio_guards_missing_and_zero():
    assert S.ratio(6, 3) == 2.0
    assert S.ratio(1, 0) is None
    assert S.ratio(None, 3) is None
    assert S.ratio(3, None) is None


@pytest.mark.parametrize("value,unit,expected", [
    (0.12345, "s", "0.123s"), (1.234, "s", "1.23s"), (12.34, "s", "12.3s"), (None, "s", "-"), (2, "", "2.00")])
def test_fmt(value, unit, expected):
    assert S.fmt(value, unit) == expected


def test_table_is_markdown_with_escaped_cells():
    out = S.table(["a", "b"], [["x|y", None], [1, 2.5]]).splitlines()
    assert out == ["| a | b |", "|---|---|", "| x\\|y | - |", "| 1 | 2.5 |"]


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="2 columns"):
        S.table(["a", "b"], [[1]])


def test_summary_row_ratio_against_reference():
    row = S.summary_row("kubectl", [2.0, 4.0, 3.0], reference=[0.5, 1.0, 0.1])
    assert row == ["kubectl", "3.00s", "2.00s", "4.00s", 3, "6.0x"]
    assert S.summary_row("none", [])[1:] == ["-", "-", "-", 0, "-"]


def test_goal_lines():
    assert S.goal(True, "x").startswith("- met")
    assert "MISSED" in S.goal(False, "x")
    assert S.goal(None, "x").startswith("- not measured")


def test_results_md_from_recorded_numbers(tmp_path):
    import run
    lat = {"cloudnative.fluid.dataset": 0.5, "kubectl wait": 0.1, "k8s_info until (delay 3 s)": 3.0,
           "3 s poll (Fluid SDK way)": 1.5}
    results = {
        "meta": {"date": "d", "nproc": 2, "load_start": "1 1 1", "load_end": "2 2 2", "workdir": ".work-bench",
                 "settle": 6, "nodes": 1002, "gpu_nodes": 500, "versions": {"Fluid": "v1.0.8"}},
        "ansible_noop": [1.0, 2.0, 3.0],
        "wait_1": [{"latency": lat, "bind_seconds": 25, "module_result_at_controller": 0.3,
                    "module_process_exit_after_result": 0.2, "module_wait_seconds_max": 26, "k8s_info_attempts": 9,
                    "poll_reads": 9}],
        "labels_setup": {"nodes": 1002, "gpu_nodes": 500, "parallel": 10},
        "labels": [{"node_labels": {"task_seconds": 4.0, "process_seconds": 6.0, "patch_seconds": 3.0, "changed": 500},
                    "kubectl": {"process_seconds": 9.0, "changed": 500},
                    "k8s_loop": {"process_seconds": 52.0, "task_seconds": 50.0, "nodes": 50}}],
        "scale": {"count": 100, "wall_seconds": 130, "bind_seconds": 100, "ansible_before_first_create": 3,
                  "datasets_before_first_runtime": 6, "return_after_last_bound": 1, "task_seconds": [5, 120]},
        "site": {"first": {"wall_seconds": 90, "ok": 40, "changed": 12, "skipped": 3},
                 "rerun": {"wall_seconds": 30, "ok": 40, "changed": 0, "skipped": 3}},
        "warm_start": {"down_seconds": 3, "up_seconds": 20, "nodes": 2},
        "fleet": {"up_seconds": 40, "first": {"wall_seconds": 200, "hosts": 3, "changed": 21},
                  "rerun_one": [{"wall_seconds": 12, "hosts": 1, "changed": 0}],
                  "rerun_three": [{"wall_seconds": 16, "hosts": 3, "changed": 0}],
                  "one_seconds": 12, "three_seconds": 16, "ratio": 16 / 12},
    }
    out = tmp_path / "RESULTS.md"
    run.write_results(results, str(out))
    text = out.read_text()
    assert "Shared machine" in text and "2 cores" in text
    assert "| cloudnative.fluid.dataset | 0.500s | 0.500s | 0.500s | 1 | 1.0x |" in text
    assert "| kubectl wait | 0.100s | 0.100s | 0.100s | 1 | 0.2x |" in text
    # goal 1 missed (0.5 s > 0.2 s), the task's end missed (0.3 s > 0.1 s), goal 2 missed (4 s > 3 s),
    # goal 3 missed (30 %), goal 4: 0 changed met, 30 s re-run missed (goal 15 s); goal 5 met (1.33x)
    assert "task end) 0.300s; then ansible's callbacks and process exit 0.200s" in text
    assert "- **MISSED**: (1) 1 dataset: Bound -> the task's end median 0.300s (goal <= 0.1 s)" in text
    assert text.count("**MISSED**") == 5
    assert "- **MISSED**: (4) site.yml re-run takes 30.0s (goal <= 15 s)" in text
    assert "| re-run, 3 clusters | 16.0s | 0 |" in text
    assert "- met: (5) site.yml re-run on 3 clusters in one run takes 1.3x one cluster's (goal <= 1.5x)" in text
    assert "- met: (4) site.yml re-run reports 0 changed" in text
    assert "overhead: (wall - bind) / bind | 30.0%" in text
    # like with like: kubectl's process against node_labels' process, the loop's task against the task
    assert "| kubectl label nodes -l (process) | 9.00s | 9.00s | 9.00s | 1 | 1.5x |" in text
    assert "| kubernetes.core.k8s loop task, per node | 1.00s |" in text
    assert "| kubernetes.core.k8s loop task, x500 nodes (extrapolated) | 500.0s | 500.0s | 500.0s | 1 | 125.0x |" in text
    assert "(2) node_labels' ansible-playbook process median 6.00s (goal <= 3 s), 1.5x faster" in text
    assert "its watch began a median 1.00s before the runtimes were created (per run +1.0 s;" in text
    assert "first runtime created -> last Bound" in text and "from one run;" in text


def test_fmt_ratio_keeps_small_ratios_visible():
    assert S.fmt_ratio(0.004) == "0.004x"
    assert S.fmt_ratio(12.345) == "12.3x"
    assert S.fmt_ratio(None) == "-"


def test_merge_raw_later_sections_win_and_invocations_are_listed(tmp_path):
    import json
    import run
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"meta": {"date": "A", "load_start": "1", "load_end": "2"}, "wait_1": [1],
                             "failed_sections": {"scale": "stopped"}}))
    b.write_text(json.dumps({"meta": {"date": "B", "load_start": "3", "load_end": "4"}, "site": {"x": 1}}))
    m = run.merge_raw([str(a), str(b)])
    assert m["meta"]["date"] == "A" and m["meta"]["load_end"] == "4"
    assert [i["sections"] for i in m["meta"]["invocations"]] == [["wait_1"], ["site"]]
    assert m["wait_1"] == [1] and m["site"] == {"x": 1} and m["failed_sections"] == {"scale": "stopped"}


def test_merge_raw_a_later_success_clears_a_failure_and_empty_data_never_overwrites(tmp_path):
    import json
    import run
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"meta": {"date": "A"}, "wait_1": [1], "wait_50": [2],
                             "failed_sections": {"scale": "stopped"}}))
    b.write_text(json.dumps({"meta": {"date": "B"}, "wait_50": [], "scale": {"count": 100},
                             "failed_sections": {"site": "broke"}}))
    m = run.merge_raw([str(a), str(b)])
    assert m["wait_50"] == [2] and m["scale"] == {"count": 100}
    assert m["failed_sections"] == {"site": "broke"}
