"""The report's opening summary: a row per model and task, a study's own table, a FID/KID plot, the slowest stages."""

import json
import re
import subprocess
import sys

from genadapt.core.cli import format_seconds
from genadapt.report import read_stage_times, render_html
from genadapt.sections import Headline, Section

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00\x00\x0c"
       b"IDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")  # 1x1 pixel


def _sections() -> list[Section]:
    gan = Section("dcgan", {}, {"fid": 50.0}, {}, headlines=[
        Headline("dcgan", "DCGAN, faces (embedded)", "FID", "50.00", "1000 generated vs 1000 test"),
        Headline("dcgan", "DCGAN, faces (embedded)", "KID", "0.0400", "1000 generated vs 1000 test", "± 0.0030")],
        thumbnails={"DCGAN, faces (embedded)": PNG})
    cyc = Section("cyc", {}, {}, {}, headlines=[
        Headline("cyc", "CycleGAN, a -> b", "FID", "70.00", "500 translated vs 1000 test"),
        Headline("cyc", "CycleGAN, b -> a", "FID", "80.00", "500 translated vs 1000 test"),
        Headline("cyc", "CycleGAN, b -> a", "diversity ratio", "0.900", "500 vs 500 real")])
    dann = Section("svhn-mnistm", {}, {"x": 1.0}, {}, study="Domain adaptation",
                   headlines=[Headline("svhn-mnistm", "svhn -> mnistm", "dann", "0.5", "1000")])
    return [gan, cyc, dann]


def test_the_summary_has_a_row_per_model_and_task_with_its_figures_as_columns():
    page = render_html(_sections())
    summary = page[page.index("<h2>Summary</h2>"):page.index("<h2>dcgan</h2>")]
    table = re.search(r"<table class='summary'>(.*?)</table>", summary).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    header = re.findall(r"<th>([^<]*)</th>", rows[0])
    assert header == ["model", "task (data)", "samples", "FID", "KID", "diversity ratio"]
    assert [re.findall(r"^<td>([^<]*)</td><td>([^<]*)</td>", r)[0] for r in rows[1:]] == [
        ("dcgan", "DCGAN, faces (embedded)"), ("cyc", "CycleGAN, a -&gt; b"), ("cyc", "CycleGAN, b -&gt; a")]
    assert rows[1].count("class='thumb'") == 1 and "class='thumb'" not in rows[2]
    assert "<b>0.0400</b><br><small>N 1000 generated vs 1000 test, ± 0.0030</small>" in rows[1]
    # a study's sections: a table of their own, after the models' (a row per pair, its methods as columns)
    assert "svhn-mnistm" not in table and "<th>dann</th>" not in table
    study = summary[summary.index("<h3>Domain adaptation</h3>"):]
    assert "<th>dann</th>" in study and "<td>svhn-mnistm</td><td>svhn -&gt; mnistm</td>" in study
    assert "FID and KID per model and task" in summary  # the plot
    assert "<details><summary>Metrics (1)</summary>" in page  # the long per-metric lists folded


def test_the_slowest_stages_panel_reads_the_recorded_times(tmp_path):
    folder = tmp_path / "logs" / "stage_times"
    folder.mkdir(parents=True)
    for stage, seconds in (("train-gan@dcgan", 300.0), ("report", 5.0), ("train-vae@vae", 62.5)):
        (folder / f"{stage}.json").write_text(json.dumps({"stage": stage, "seconds": seconds, "status": "done",
                                                          "finished": "2026-01-01T00:00:00"}))
    page = render_html(_sections(), read_stage_times(folder))
    panel = page[page.index("Where the time went"):]
    panel = panel[:panel.index("</table>")]
    assert "the 3 slowest of 3 stages (all: 6m08s)" in panel
    assert re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>", panel) == [
        ("train-gan@dcgan", "5m00s"), ("train-vae@vae", "1m02s"), ("report", "5.0s")]
    assert read_stage_times(tmp_path / "absent") == [] and "Where the time went" not in render_html(_sections())
    assert format_seconds(59.94) == "59.9s" and format_seconds(3600) == "60m00s"


def test_a_stage_under_dvc_says_when_it_starts_and_how_long_it_took(tmp_path, repo):
    script = tmp_path / "stage.py"
    script.write_text("import time\nfrom genadapt.core.cli import run_stage\nrun_stage(lambda: print('working') or time.sleep(0.3))\n")
    env = {"PYTHONPATH": str(repo / "src"), "DVC_STAGE": "train-x@y", "DVC_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=True)
    lines = out.stderr.splitlines()
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] train-x@y: started \(imports \d+\.\ds\)", lines[0])
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] train-x@y: done in \d+\.\ds", lines[-1]) and out.stdout == "working\n"
    record = json.loads((tmp_path / "logs" / "stage_times" / "train-x@y.json").read_text())
    assert record["status"] == "done" and 0.3 <= record["seconds"] < 60 and record["device"] == "cpu"
    assert record["peak_memory_mib"] > 1
    failing = tmp_path / "failing.py"
    failing.write_text("from genadapt.core.cli import run_stage\nfrom genadapt.core.errors import PipelineError\n"
                       "def main():\n    raise PipelineError('bad input')\nrun_stage(main)\n")
    out = subprocess.run([sys.executable, str(failing)], env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "error: bad input" in out.stderr
    assert json.loads((tmp_path / "logs" / "stage_times" / "train-x@y.json").read_text())["status"] == "failed"
