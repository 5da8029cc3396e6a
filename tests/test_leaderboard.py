"""Leaderboards from the store: table contents against the inputs, the CLI, and the HTML page
rendered in headless Chromium without any request leaving the machine."""

import base64
import csv
import io
import json
import re
import shutil
import statistics
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from modelrank.cli.leaderboard import leaderboard
from modelrank.errors import ConfigError
from modelrank.leaderboard import build, omega_from_arrays, render
from modelrank.store import Store

MODELS = ["alpha", "beta", "gamma", "delta"]
DATASETS = ["cifar10", "dtd", "pets"]
METRICS = ["logme", "leep", "theta"]  # theta is lower-is-better: score = -raw
RNG = np.random.default_rng(7)
RAW = {(d, m, k): float(RNG.normal(0, 2)) for d in DATASETS for m in MODELS for k in METRICS}
UNAVAILABLE = {("pets", "delta", "theta"): "no logits"}
# fine-tuning results: (dataset, model) -> accuracies tried with different learning rates
FINETUNE = {
    (d, m): [float(RNG.uniform(40, 95)) for _ in range(3)]
    for d in ("cifar10", "dtd")
    for m in MODELS
}
LINEAR = {("cifar10", m): float(RNG.uniform(30, 80)) for m in MODELS}
TAU = {(d, k): float(RNG.uniform(-1, 1)) for d in DATASETS for k in METRICS}
del TAU[("pets", "theta")]  # one score missing on one dataset: its mean is over two


def score(d, m, k):
    return -RAW[(d, m, k)] if k == "theta" else RAW[(d, m, k)]


def ranking_dict(dataset, layers=5, n=9):
    rows = []
    for i, m in enumerate(MODELS):
        raw = {k: RAW[(dataset, m, k)] for k in METRICS if (dataset, m, k) not in UNAVAILABLE}
        rows.append(
            {
                "model": m,
                "raw": raw,
                "scores": {k: score(dataset, m, k) for k in raw},
                "unavailable": {
                    k: why for (d, mm, k), why in UNAVAILABLE.items() if (d, mm) == (dataset, m)
                },
                "info": {"image_size": 32},
                "topology": {
                    "layers": [f"l{j}" for j in range(layers)],
                    "omega_cubical": [float(j + i) for j in range(layers)],
                    "arrays": {
                        "cubical_betti": RNG.integers(0, 7, (n, layers, 3)).astype(np.int32),
                        "labels": np.arange(n) % 3,
                    },
                },
            }
        )
    rows.sort(key=lambda r: -r["scores"]["logme"])
    return {
        "recipe": {
            "data": {"dataset": dataset, "split": "train", "per_class": 3, "seed": 0},
            "seed": 0,
            "versions": {},
        },
        "metrics": METRICS,
        "primary": "logme",
        "ranking": [dict(r, rank=i) for i, r in enumerate(rows, 1)],
        "skipped": [],
    }


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("lb") / "results.sqlite"
    with Store(path) as s:
        for d in DATASETS:
            s.record_ranking(ranking_dict(d), "score")
        ev = s.record_run("evaluate", {"seed": 0})
        for (d, m), accs in FINETUNE.items():
            for lr, a in zip((0.1, 0.01, 0.001), accs):
                s.record_evaluation(ev, m, d, "finetune", {"lr": lr}, a, "top1", "test")
        for (d, m), a in LINEAR.items():
            s.record_evaluation(ev, m, d, "linear", {"C": 1}, a, "top1", "test")
        bench = s.record_run("benchmark", {"suite": "offline"})
        s.record_correlations(
            bench,
            "offline",
            [{"dataset": d, "score": k, "n": 4, "weighted_tau": t} for (d, k), t in TAU.items()],
        )
    return path


def expected_order(dataset, metric):
    have = [m for m in MODELS if (dataset, m, metric) not in UNAVAILABLE]
    return sorted(have, key=lambda m: -score(dataset, m, metric)) + [
        m for m in MODELS if m not in have
    ]


def expected_means():
    out = {}
    for k in METRICS:
        vals = [TAU[(d, k)] for d in DATASETS if (d, k) in TAU]
        out[k] = statistics.fmean(vals)
    return out


def md_tables(text):
    """{section heading or 'tau': [[cells], ...]} from the Markdown (header row included)."""
    tables, heading, current = {}, None, None
    for line in text.splitlines():
        if line.startswith("## "):
            heading = line[3:]
            current = None
        elif line.startswith("|") and not line.startswith("|---"):
            if current is None:
                current = tables.setdefault(heading, [])
            current.append([c.strip() for c in line.strip("|").split(" | ")])
        elif not line.startswith("|---"):
            current = None
    return tables


def test_markdown_ranks_backbones_and_lists_tau_with_mean(db):
    with Store(db) as s:
        text = render(build(s), "md")
    tables = md_tables(text)
    for d in DATASETS:
        rows = tables[f"{d} — ranked by logme"]
        header, body = rows[0], rows[1:]
        assert header[:3] == ["rank", "model", "logme"] and set(header[3:5]) == {"leep", "theta"}
        assert [r[1] for r in body] == expected_order(d, "logme")
        assert [r[0] for r in body] == ["1", "2", "3", "4"]
        for r in body:
            cells = dict(zip(header, r))
            for k in METRICS:
                want = "n/a" if (d, r[1], k) in UNAVAILABLE else f"{RAW[(d, r[1], k)]:.4g}"
                assert cells[k] == want
            if d in ("cifar10", "dtd"):
                assert cells["finetune acc (%)"] == f"{max(FINETUNE[(d, r[1])]):.2f}"
            else:
                assert "finetune acc (%)" not in cells
        if d == "cifar10":
            assert header[-2:] == ["finetune acc (%)", "linear acc (%)"]
    tau = tables["Across targets: weighted τ of each score against accuracy"]
    assert tau[0] == ["score"] + DATASETS + ["mean"]
    means = expected_means()
    assert [r[0] for r in tau[1:]] == sorted(METRICS, key=lambda k: -means[k])
    for r in tau[1:]:
        k = r[0]
        for d, cell in zip(DATASETS, r[1:4]):
            assert cell == (f"{TAU[(d, k)]:.3f}" if (d, k) in TAU else "—")
        assert r[4] == f"{means[k]:.3f}" + ("†" if k == "theta" else "")
    assert "† mean over fewer datasets" in text
    assert "- delta: theta n/a (no logits)" in text


def test_csv_blocks_hold_exact_values(db):
    with Store(db) as s:
        text = render(build(s), "csv")
    ranking_block, tau_block = text.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(ranking_block)))
    assert len(rows) == len(DATASETS) * len(MODELS)
    for d in DATASETS:
        mine = [r for r in rows if r["dataset"] == d]
        assert [r["model"] for r in mine] == expected_order(d, "logme")
        for r in mine:
            assert r["ranked_by"] == "logme"
            for k in METRICS:
                assert r[k] == (
                    "" if (d, r["model"], k) in UNAVAILABLE else repr(RAW[(d, r["model"], k)])
                )
            acc = FINETUNE.get((d, r["model"]))
            assert r["finetune acc (%)"] == ("" if acc is None else repr(max(acc)))
            lin = LINEAR.get((d, r["model"]))
            assert r["linear acc (%)"] == ("" if lin is None else repr(lin))
    taus = {r["score"]: r for r in csv.DictReader(io.StringIO(tau_block))}
    means = expected_means()
    for k in METRICS:
        assert taus[k]["suite"] == "offline"
        assert float(taus[k]["mean"]) == pytest.approx(means[k], abs=1e-12)
        assert int(taus[k]["n_datasets"]) == (2 if k == "theta" else 3)
        for d in DATASETS:
            assert taus[k][d] == (repr(TAU[(d, k)]) if (d, k) in TAU else "")


def test_json_has_targets_tau_and_omega(db):
    with Store(db) as s:
        doc = json.loads(render(build(s), "json"))
        arrays = s.betti_arrays("beta", "dtd")
    assert [t["dataset"] for t in doc["targets"]] == DATASETS
    dtd = doc["targets"][1]
    assert [r["model"] for r in dtd["rows"]] == expected_order("dtd", "logme")
    assert dtd["rows"][0]["accuracy"]["finetune"] == max(FINETUNE[("dtd", dtd["rows"][0]["model"])])
    # Omega from the stored arrays, computed here independently: per class, mean over images of
    # b0+b1+b2; then the mean over classes.
    b, labels = arrays["cubical_betti"], arrays["labels"]
    want = [
        np.mean(
            [
                np.mean([b[i, layer].sum() for i in range(len(b)) if labels[i] == c])
                for c in sorted(set(labels.tolist()))
            ]
        )
        for layer in range(b.shape[1])
    ]
    assert dtd["omega"]["beta"] == pytest.approx(want)
    (table,) = doc["correlations"]
    means = expected_means()
    assert {r["score"]: r["mean"] for r in table["rows"]} == pytest.approx(means)
    # the scatter's tau is the stored one for this dataset and score
    assert (
        dtd["tau"]["leep"]["value"] == TAU[("dtd", "leep")]
        and dtd["tau"]["leep"]["source"] == "stored"
    )


def test_omega_falls_back_to_per_class_means_and_lists():
    pc = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)
    np.testing.assert_allclose(
        omega_from_arrays({"betti_per_class_mean": pc}),
        [(pc[0, j].sum() + pc[1, j].sum()) / 2 for j in range(3)],
    )
    assert omega_from_arrays({"something": np.zeros(3)}) is None


def cli_app():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A stand-in for the modelrank app."""

    app.command("leaderboard")(leaderboard)
    return app


def test_cli_metric_and_dataset_options(db, tmp_path):
    out = tmp_path / "lb.md"
    res = CliRunner().invoke(
        cli_app(),
        [
            "leaderboard",
            "--db",
            str(db),
            "--dataset",
            "dtd,pets",
            "--metric",
            "theta",
            "--format",
            "md",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    tables = md_tables(out.read_text())
    assert set(tables) == {
        "dtd — ranked by theta",
        "pets — ranked by theta",
        "Across targets: weighted τ of each score against accuracy",
    }
    for d in ("dtd", "pets"):
        body = tables[f"{d} — ranked by theta"][1:]
        # theta is lower-is-better: ranked by ascending raw value, unavailable last and unranked
        assert [r[1] for r in body] == expected_order(d, "theta")
        raw = [
            RAW[(d, m, "theta")]
            for m in expected_order(d, "theta")
            if (d, m, "theta") not in UNAVAILABLE
        ]
        assert raw == sorted(raw)
    assert tables["pets — ranked by theta"][-1][:2] == ["—", "delta"]
    tau = tables["Across targets: weighted τ of each score against accuracy"]
    assert tau[0] == ["score", "dtd", "pets", "mean"]
    leep = next(r for r in tau if r[0] == "leep")
    assert leep[3] == f"{statistics.fmean([TAU[('dtd', 'leep')], TAU[('pets', 'leep')]]):.3f}"

    res = CliRunner().invoke(cli_app(), ["leaderboard", "--db", str(db), "--format", "csv"])
    assert res.exit_code == 0 and res.stdout.startswith("dataset,recipe,ranked_by,rank,model")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "imagenet"], "no results for dataset 'imagenet'"),
        (["--metric", "bogus"], "no 'bogus' scores"),
        (["--output", "lb.docx"], "the format cannot be told from"),
    ],
)
def test_cli_errors_are_one_line_config_errors(db, args, message):
    res = CliRunner().invoke(cli_app(), ["leaderboard", "--db", str(db), *args])
    assert res.exit_code == 1
    assert isinstance(res.exception, ConfigError)
    assert message in str(res.exception) and "\n" not in str(res.exception)


def test_cli_without_a_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELRANK_DB", str(tmp_path / "nothing.sqlite"))
    res = CliRunner().invoke(cli_app(), ["leaderboard"])
    assert isinstance(res.exception, ConfigError) and "no results database at" in str(res.exception)
    assert not (tmp_path / "nothing.sqlite").exists()


def test_sections_without_data_say_so(tmp_path):
    with Store(tmp_path / "empty.sqlite") as s:
        board = build(s)
        assert "No results in the database yet." in render(board, "md")
        assert "No rank correlations stored yet" in render(board, "html")
        assert json.loads(render(board, "json"))["targets"] == []
        assert (
            render(board, "csv").split("\n\n")[0].startswith("dataset,recipe,ranked_by,rank,model")
        )
        rk = ranking_dict("dtd")
        for r in rk["ranking"]:
            r["topology"] = {}
            r["model"] = r["model"].replace("beta", "be<script>ta|x")
        s.record_ranking(rk, "score")
        page = render(build(s), "html")
        md = render(build(s), "md")
    assert "No Betti arrays or Ω stored for this target." in page
    assert "No accuracies stored for this target" in page
    assert "be&lt;script&gt;ta|x" in page and "be<script>" not in page
    assert "be<script>ta\\|x" in md


# --------------------------------------------------------------------------- headless Chromium


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.imgs, self.root = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs))
        if tag == "html":
            self.root = dict(attrs)


# Reports, once the page has loaded, how many images there are and how many decoded, and by how
# many pixels the page is wider than the window (> 0: a horizontal scroll bar).
_PROBE = (
    '<script>addEventListener("load",()=>{const i=[...document.images],d=document.documentElement;'
    'd.dataset.images=i.length+":"+i.filter(x=>x.complete&&x.naturalWidth>0).length;'
    "d.dataset.overflow=d.scrollWidth-window.innerWidth;});</script>"
)


def _chromium(url, tmp_path, tag):
    """Load ``url`` in headless Chromium with every network request sent to a dead local proxy
    (port 9 = discard); return (DOM text, page-initiated request URLs from the net log, png)."""
    netlog, shot = tmp_path / f"{tag}.netlog.json", tmp_path / f"{tag}.png"
    cmd = [
        shutil.which("chromium"),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / (tag + '-profile')}",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        f"--log-net-log={netlog}",
        "--window-size=1280,2600",
        f"--screenshot={shot}",
        "--dump-dom",
        url,
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout, _page_requests(netlog), shot


def _page_requests(netlog):
    """URLs of network requests the page made. Chromium's own start-up traffic (update and
    account services) carries the initiator "not an origin"; a page's has the page's origin."""
    text = netlog.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short by the browser's exit lacks its closing
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    out = []
    for e in log["events"]:
        prm = e.get("params") or {}
        if e["type"] == start and "url" in prm:
            if prm.get("initiator") != "not an origin" or "file://" in prm.get(
                "network_isolation_key", ""
            ):
                out.append(prm["url"])
    return out


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)
def test_html_renders_in_headless_chromium_without_network(db, tmp_path):
    with Store(db) as s:
        page = render(build(s), "html")
    # static: no reference outside the page, every image inline
    without_data = re.sub(r"data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//[a-z0-9]|ftp:|ws:", without_data, re.I)
    assert not re.search(r"<(link|iframe|object|embed)\b|<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"url\(", page)
    static = _Dom()
    static.feed(page)
    assert static.imgs and all(i["src"].startswith("data:image/png;base64,") for i in static.imgs)
    for img in static.imgs:
        assert base64.b64decode(img["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"

    html_file = tmp_path / "leaderboard.html"
    html_file.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom_text, requests, shot = _chromium(html_file.as_uri(), tmp_path, "page")
    dom = _Dom()
    dom.feed(dom_text)
    n_imgs = len(DATASETS) + 2 + 1  # Omega per target, a scatter per target with accuracy, τ bars
    assert dom.tags.count("table") == len(DATASETS) + 1
    assert len(dom.imgs) == n_imgs
    assert dom.root.get("data-images") == f"{n_imgs}:{n_imgs}"  # all loaded and decoded
    assert "cifar10 — ranked by logme" in dom_text and "Across targets" in dom_text
    assert requests == []
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 2600)
        assert np.asarray(im.convert("L")).std() > 10  # not a blank page

    # the sensor works: the same browser set-up reports a page's external fetches
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.invalid/a.png">'
        '<img src="https://example.invalid/b.png"></body></html>'
    )
    _, requests, _ = _chromium(control.as_uri(), tmp_path, "control")
    assert sorted(requests) == ["http://example.invalid/a.png", "https://example.invalid/b.png"]


def test_intervals_and_second_ground_truths_are_rendered(tmp_path):
    from modelrank.leaderboard import build, render

    path = tmp_path / "r.sqlite"
    with Store(path) as s:
        run = s.record_run("benchmark", {"suite": "fm"})
        s.record_correlations(
            run,
            "fm",
            [
                {
                    "dataset": "a",
                    "score": "logme",
                    "n": 9,
                    "weighted_tau": 0.5,
                    "tau_low": 0.2,
                    "tau_high": 0.7,
                },
                {
                    "dataset": "a",
                    "score": "logme",
                    "n": 9,
                    "weighted_tau": -0.1,
                    "ground_truth": "linear",
                },
            ],
        )
    with Store(path, read_only=True) as s:
        board = build(s)
    assert [(t.suite, t.ground_truth) for t in board.correlations] == [
        ("fm", "headline"),
        ("fm", "linear"),
    ]
    md = render(board, "md")
    assert "| logme | 0.500 [0.20, 0.70] | 0.500 |" in md
    assert "Suite `fm (against linear)`" in md and "| logme | -0.100 | -0.100 |" in md
    html = render(board, "html")
    assert "Suite fm (against linear)" in html and "0.500<small>[0.20, 0.70]</small>" in html


def test_stored_mean_intervals_and_verdicts_are_shown_only_for_their_own_table(tmp_path):
    path = tmp_path / "r.sqlite"
    summary = {
        "ground_truth": "headline",
        "n_datasets": 2,
        "baseline": "param-count",
        "baseline_tau": 0.4,
    }
    with Store(path) as s:
        run = s.record_run("benchmark", {"suite": "fm"})
        s.record_correlations(
            run,
            "fm",
            [
                {"dataset": d, "score": k, "n": 9, "weighted_tau": t}
                for d, k, t in [
                    ("a", "logme", 0.5),
                    ("b", "logme", 0.7),
                    ("a", "sfda", 0.1),
                    ("b", "sfda", 0.3),
                    ("a", "param-count", 0.3),
                    ("b", "param-count", 0.5),
                ]
            ],
        )
        s.record_tau_summaries(
            run,
            "fm",
            [
                dict(
                    summary,
                    score="logme",
                    mean_tau=0.6,
                    tau_low=0.45,
                    tau_high=0.7,
                    verdict="beats",
                ),
                dict(summary, score="sfda", mean_tau=0.2, verdict="no interval"),
                dict(summary, score="param-count", mean_tau=0.4, verdict="baseline"),
            ],
        )
    with Store(path, read_only=True) as s:
        board = build(s)
        only_a = build(s, datasets=["a"])
    md = render(board, "md")
    assert "beats the best static baseline (param-count, 0.400)?" in md
    assert "| logme | 0.500 | 0.700 | 0.600 [0.45, 0.70] | beats |" in md
    assert "| sfda | 0.100 | 0.300 | 0.200 | no interval |" in md
    rows = list(csv.reader(io.StringIO(render(board, "csv").split("\n\n")[1])))
    assert rows[0][-3:] == ["mean_low", "mean_high", "verdict"]
    assert {r[1]: r[-3:] for r in rows[1:]}["logme"] == ["0.45", "0.7", "beats"]
    assert "beats the best static baseline" in render(board, "html")
    # one dataset of two: the stored mean is not this table's mean, so nothing is attached
    assert "beats the best static baseline" not in render(only_a, "md")
    assert all(r["verdict"] is None for r in only_a.correlations[0].rows)
    assert json.loads(render(board, "json"))["correlations"][0]["baseline"] == ["param-count", 0.4]


def test_random_and_truncated_controls_are_marked(tmp_path):
    doc = ranking_dict("cifar10")
    infos = {
        "alpha": {"weights": "random"},
        "beta": {"weights": "package:x", "truncate": "blocks.3"},
        "gamma": {"weights": "package:x", "truncate": None},
    }  # delta: an old row, no info
    for r in doc["ranking"]:
        r["info"] = infos.get(r["model"], {})
    with Store(tmp_path / "r.sqlite") as s:
        s.record_ranking(doc, "score")
        board = build(s)
    rows = {r["model"]: r["control"] for r in board.targets[0].rows}
    assert rows == {
        "alpha": "random weights",
        "beta": "truncated after blocks.3",
        "gamma": None,
        "delta": None,
    }
    table = md_tables(render(board, "md"))["cifar10 — ranked by logme"]
    assert {row[1] for row in table[1:]} == {
        "alpha (random weights)",
        "beta (truncated after blocks.3)",
        "gamma",
        "delta",
    }
    assert "alpha (random weights)" in render(board, "html")
    assert json.loads(render(board, "json"))["targets"][0]["rows"][0]["control"] in rows.values()
    # the CSV keeps the bare model names (a machine-readable key)
    assert {
        r["model"] for r in csv.DictReader(io.StringIO(render(board, "csv").split("\n\n")[0]))
    } == set(MODELS)


def test_runs_of_different_recipes_are_never_ranked_in_one_column(tmp_path):
    """Issue 30, item 3: three backbones scored at 20 per class, then one of them at 5 per
    class: two tables, each holding only its own recipe's values and saying which it is."""
    doc20 = ranking_dict("cifar10")
    doc20["recipe"]["data"]["per_class"] = 20
    doc5 = ranking_dict("cifar10")
    doc5["recipe"]["data"]["per_class"] = 5
    doc5["ranking"] = [dict(doc5["ranking"][-1], rank=1)]
    doc5["ranking"][0]["scores"]["logme"] = doc5["ranking"][0]["raw"]["logme"] = 99.0
    with Store(tmp_path / "r.sqlite") as s:
        s.record_ranking(doc20, "score")
        s.record_ranking(doc5, "score")
        board = build(s)
    assert [t.recipe for t in board.targets] == [
        "train split, 5 per class, 32 px",
        "train split, 20 per class, 32 px",
    ]
    five, twenty = board.targets
    assert [r["model"] for r in five.rows if r["scores"]] == [doc5["ranking"][0]["model"]]
    assert all(r["scores"].get("logme") != 99.0 for r in twenty.rows)  # not mixed in
    assert [r["rank"] for r in twenty.rows][:2] == [1, 2]
    md = render(board, "md")
    assert "## cifar10 — ranked by logme — train split, 5 per class, 32 px" in md
    assert "## cifar10 — ranked by logme — train split, 20 per class, 32 px" in md
    assert "(ranked by logme, higher is better)" in md
    assert {
        row["recipe"] for row in csv.DictReader(io.StringIO(render(board, "csv").split("\n\n")[0]))
    } == {"train split, 5 per class, 32 px", "train split, 20 per class, 32 px"}


def test_equal_scores_share_a_rank_on_the_leaderboard(tmp_path):
    """Issue 30, item 1: two backbones with the same value of the ranking score share its rank."""
    doc = ranking_dict("cifar10")
    first, second = doc["ranking"][0], doc["ranking"][1]
    second["scores"]["logme"] = first["scores"]["logme"]
    second["raw"]["logme"] = first["raw"]["logme"]
    with Store(tmp_path / "r.sqlite") as s:
        s.record_ranking(doc, "score")
        board = build(s)
    ranks = {r["model"]: r["rank"] for r in board.targets[0].rows}
    assert ranks[first["model"]] == ranks[second["model"]] == 1
    assert sorted(ranks.values())[:3] == [1, 1, 3]
    table = md_tables(render(board, "md"))["cifar10 — ranked by logme"]
    assert [row[0] for row in table[1:4]] == ["1", "1", "3"]


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install -y chromium)",
)
def test_a_page_with_every_score_fits_1280_px_and_sorts(tmp_path):
    from modelrank.metrics import list_metrics

    names = [m.name for m in list_metrics()]
    models = [f"backbone-{i:02d}" for i in range(12)]
    targets = [f"target-{j}" for j in range(11)]
    rng = np.random.default_rng(3)
    with Store(tmp_path / "wide.sqlite") as s:
        for d in targets[:2]:
            rows = [
                {
                    "model": m,
                    "raw": {k: float(rng.normal()) for k in names},
                    "scores": {k: float(rng.normal()) for k in names},
                    "unavailable": {},
                    "info": {"weights": "random"}
                    if i == 11
                    else {"truncate": "blocks.3"}
                    if i == 10
                    else {},
                }
                for i, m in enumerate(models)
            ]
            rows.sort(key=lambda r: -r["scores"][names[0]])
            s.record_ranking(
                {
                    "recipe": {
                        "data": {"dataset": d, "split": "train", "per_class": 30, "seed": 0},
                        "seed": 0,
                        "versions": {},
                    },
                    "metrics": names,
                    "primary": names[0],
                    "ranking": [dict(r, rank=i) for i, r in enumerate(rows, 1)],
                    "skipped": [],
                },
                "score",
            )
        run = s.record_run("benchmark", {"suite": "wide"})
        s.record_correlations(
            run,
            "wide",
            [
                {
                    "dataset": d,
                    "score": k,
                    "n": 12,
                    "weighted_tau": float(rng.uniform(-1, 1)),
                    "tau_low": -0.5,
                    "tau_high": 0.5,
                }
                for d in targets
                for k in names
            ],
        )
        s.record_tau_summaries(
            run,
            "wide",
            [
                {
                    "ground_truth": "headline",
                    "score": k,
                    "n_datasets": 11,
                    "mean_tau": 0.1,
                    "tau_low": -0.1,
                    "tau_high": 0.3,
                    "verdict": "does not beat",
                    "baseline": "param-count",
                    "baseline_tau": 0.4,
                }
                for k in names
            ],
        )
        page = render(build(s), "html")
    assert page.count("<details><summary>All ") == 2  # every score, behind a toggle
    assert page.count('<tr class="best">') == 2 * 2  # the first row, in both tables of each target
    assert 'class="control">' in page and "backbone-11 (random weights)" in page
    html_file = tmp_path / "wide.html"
    html_file.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom_text, requests, shot = _chromium(html_file.as_uri(), tmp_path, "wide")
    dom = _Dom()
    dom.feed(dom_text)
    assert int(dom.root.get("data-overflow")) <= 0, "the page scrolls sideways at 1280 px"
    assert requests == []
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size == (1280, 2600) and np.asarray(im.convert("L")).std() > 10
