"""Command line: train, probe, loss landscapes, hyperparameter search, the default config, the
full MNIST set.

stdout carries only JSON (one object per line); progress and errors go to stderr. A bad file,
key, type or value exits with status 2 and one line that names the field and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import torch

from engine.config import Config
from engine.registry import ConfigError
from engine.textfiles import MAX_JSON_BYTES, one_line, read_file, shown, too_long

if TYPE_CHECKING:
    from engine.trainer import Trainer

USAGE_ERROR = 2
POINTS_MAX_BYTES = 2_000_000  # --points, as the Playground's upload (parse_points_csv's default)
# Seeds the samplers and generators take: numpy's RandomState (Optuna) refuses anything outside
# 0..2**32-1 and torch's manual_seed anything past 64 bits, both with a traceback.
SEED_MAX = 2**32 - 1


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (and exits 2)."""

    def error(self, message: str) -> NoReturn:
        # prog is "engine" for the top level and "engine train" for a command
        self.exit(USAGE_ERROR, f"error: {message} (see python -m {self.prog} -h)\n")


def _int(text: str) -> int:
    """argparse type: a decimal integer; a 5,000-digit one is refused without Python's
    conversion-limit ValueError, quoting the text cut short."""
    message = too_long(text)
    if message:
        raise argparse.ArgumentTypeError(message)
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {shown(text)}") from None


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="engine", description="Neural-network playground engine.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("config", help="run config JSON file (see `python -m engine config`)")
        sp.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a config field, e.g. --set train.lr=0.1 (repeatable)",
        )
        sp.add_argument(
            "--points",
            metavar="CSV",
            help="your own 2-D points (x1, x2, label); sets data.dataset to 'uploaded'",
        )
        sp.add_argument(
            "--variant",
            metavar="LABEL",
            help="a lab preset's run by its label, e.g. --variant 'batch 8' (before --set)",
        )

    tr = sub.add_parser("train", help="train and print one JSON line per evaluation")
    with_config(tr)
    tr.add_argument("--probes", action="store_true", help="add per-layer probe summaries")
    tr.add_argument("--save", metavar="PATH", help="save a checkpoint here at the end")
    tr.add_argument(
        "--snapshots",
        type=_int,
        default=0,
        metavar="N",
        help="keep the weights every N steps in the checkpoint (for landscape --directions pca)",
    )

    pr = sub.add_parser("probe", help="per-layer summaries at initialization, as one JSON object")
    with_config(pr)
    pr.add_argument("--samples", type=_int, default=1000, help="training examples to probe with")
    la = sub.add_parser(
        "landscape",
        help="loss landscape of a checkpoint (Li et al. 2018) as one JSON object",
    )
    la.add_argument("checkpoint", help="a checkpoint written by `train --save`")
    la.add_argument("--grid", type=_int, default=31, help="points per side of the 2-D slice")
    la.add_argument(
        "--span",
        type=float,
        default=1.0,
        help="half-width of the slice: in units of the filter-normalized directions (random), "
        "or as a multiple of the trajectory's reach (pca: 1.0 shows it all with a margin)",
    )
    la.add_argument("--samples", type=_int, default=1000, help="first M training examples")
    la.add_argument(
        "--directions",
        choices=["random", "pca"],
        default="random",
        help="two filter-normalized random directions, or the trajectory's top two PCA "
        "directions (needs a checkpoint with weight snapshots)",
    )
    la.add_argument("--seed", type=_int, default=0, help="seed of the random directions")
    la.add_argument("--line", action="store_true", help="also the loss on the line initial->final")
    se = sub.add_parser(
        "search",
        help="hyperparameter search (Optuna): one JSON line per finished trial, then a summary",
    )
    with_config(se)
    se.add_argument(
        "--space",
        metavar="SPACE.json",
        help="search space JSON file (default: the search preset's own, its lab.space)",
    )
    se.add_argument(
        "--storage",
        metavar="URL",
        help="database URL of the study, e.g. sqlite:///search.db or "
        "postgresql+psycopg2://user:password@host/db (default: $PLAYGROUND_SEARCH_DB, else "
        "search.db in the user cache); workers with one storage and study share the trials",
    )
    se.add_argument("--study", default="default", metavar="NAME", help="study name")
    se.add_argument(
        "--trials",
        type=_int,
        metavar="N",
        help=f"trials this process runs (default {DEFAULT_TRIALS}; grid: until the grid is done)",
    )
    # The names of engine.search.SAMPLERS, spelled out so that other commands start without
    # importing Optuna (a test keeps the two in step).
    se.add_argument("--sampler", choices=["tpe", "random", "grid"], default="tpe")
    se.add_argument(
        "--seed",
        type=_int,
        metavar="K",
        help="sampler seed (default: none; give each worker of a study its own seed)",
    )
    se.add_argument("--timeout", type=float, metavar="S", help="stop starting trials after S s")
    se.add_argument("--no-prune", action="store_true", help="turn off median pruning")
    kf = sub.add_parser(
        "kfold",
        help="k-fold cross-validation: one JSON line per fold, then the mean and std",
    )
    with_config(kf)
    kf.add_argument("--k", type=_int, default=5, help="number of folds, 2..10 (default 5)")
    co = sub.add_parser(
        "config",
        help="print the default config as JSON, or check a config file (with --set overrides) "
        "and print the config it makes, without training",
    )
    co.add_argument("config", nargs="?", help="run config or preset JSON file to check")
    co.add_argument(
        "--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a field"
    )
    da = sub.add_parser("data", help="download a dataset")
    da.add_argument("name", choices=["mnist-full"], help="what to download")
    da.add_argument("--url", help="base URL of the MNIST files (default: a public mirror)")
    da.add_argument("--cache-dir", help="where to keep the files (default: user cache)")
    return p


def load_config(path: str, overrides: list[str], variant: str | None = None) -> Config:
    """Read a config or preset JSON file, take the lab preset's `variant` (by label) if one
    is named, and apply --set overrides (ConfigError on any problem)."""
    from engine.presets import load_preset

    preset = load_preset(path)
    if variant is None:
        return preset.config.with_overrides(overrides)
    by_label = {v.label: v.config for v in preset.variants}
    if variant not in by_label:
        known = ", ".join(repr(label) for label in by_label) or "none"
        raise ConfigError("--variant", f"no run {shown(variant)} in {path}; its runs: {known}")
    return by_label[variant].with_overrides(overrides)


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(_finite(obj)), flush=True)


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null (strict parsers reject the bare tokens)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def make_trainer(args: argparse.Namespace) -> Trainer:
    """The Trainer for a command's config file, --set overrides and --points file."""
    from engine.trainer import Trainer

    cfg = load_config(args.config, args.set, args.variant)
    if not args.points:
        return Trainer(cfg)
    from engine.data import build_dataset
    from engine.data.uploads import parse_points_csv

    raw = read_file(args.points, "--points", POINTS_MAX_BYTES)
    if cfg.data.dataset != "uploaded":
        cfg = cfg.replace(**{"data.dataset": "uploaded"})
    points = parse_points_csv(raw, max_bytes=POINTS_MAX_BYTES)
    return Trainer(cfg, dataset=build_dataset(cfg.data, cfg.seed, points))


def _check_save_path(path: str) -> Path:
    """Refuse a --save path that cannot be written before training for it: a folder, or a
    place where no file can be created."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError("--save", f"{path} is a folder; give a file path such as {path}/run.pt")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:  # save() creates missing folders
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError("--save", f"cannot write {path}: {parent} is not a writable folder")
    if target.exists() and not os.access(target, os.W_OK):
        raise ConfigError("--save", f"cannot write {path}: the file is read-only")
    return target


def cmd_train(args: argparse.Namespace) -> int:
    if args.snapshots < 0:
        raise ConfigError(
            "--snapshots", f"must be 0 (off) or a number of steps, got {args.snapshots}"
        )
    if args.save:
        _check_save_path(args.save)
    trainer = make_trainer(args)
    trainer.snapshot_every = args.snapshots
    if args.probes:
        trainer.enable_probes(trainer.eval_every)
    shown = 0
    while not trainer.done:
        trainer.step(trainer.eval_every)
        for row in trainer.history.evals[shown:]:
            line = dict(row)
            if args.probes:
                probe = next(
                    (p for p in reversed(trainer.history.probes) if p["step"] <= row["step"]), None
                )
                line["layers"] = probe["layers"] if probe else []
            _emit(line)
        shown = len(trainer.history.evals)
    summary = trainer.summary()
    if args.save:
        try:
            summary["checkpoint"] = str(trainer.save(args.save))
        except (OSError, RuntimeError) as e:  # torch reports a failed open as RuntimeError
            reason = e.strerror if isinstance(e, OSError) and e.strerror else "the write failed"
            raise ConfigError("--save", f"cannot write {args.save}: {reason}") from None
    _emit(summary)
    return 0


def cmd_kfold(args: argparse.Namespace) -> int:
    """Cross-validate the config: train k runs on the training pool (engine.kfold)."""
    from dataclasses import asdict

    from engine.kfold import run_kfold

    cfg, points = load_config(args.config, args.set), None
    if args.points:
        from engine.data.uploads import parse_points_csv

        raw = read_file(args.points, "--points", POINTS_MAX_BYTES)
        cfg = cfg.replace(**{"data.dataset": "uploaded"})
        points = parse_points_csv(raw, max_bytes=POINTS_MAX_BYTES)
    result = run_kfold(cfg, args.k, points=points, on_fold=lambda f: _emit(asdict(f)))
    _emit({"summary": True, **result.to_dict()})
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from engine.probes import probe_at_init

    if args.samples < 1:
        raise ConfigError("--samples", f"must be at least 1, got {args.samples}")
    trainer = make_trainer(args)
    cfg = trainer.cfg
    n = min(args.samples, len(trainer.train_split.y))
    x, y = trainer.train_split.x[:n], trainer.train_split.y[:n]
    try:
        layers = probe_at_init(trainer.model, cfg.model.activation, x, y, trainer.loss_fn)
    except ConfigError as e:  # BatchNorm and a single example: say which flag to change
        raise ConfigError("--samples", str(e).split(": ", 1)[-1]) from None
    _emit({"config": cfg.to_dict(), "samples": n, "layers": layers})
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from engine.data.mnist import download_full

    def progress(done: int, total: int) -> None:
        pct = f"{100 * done / total:5.1f}%" if total else f"{done} bytes"
        print(f"\rdownloading MNIST: {pct}", end="", file=sys.stderr, flush=True)

    try:
        paths = download_full(
            cache_dir=Path(args.cache_dir) if args.cache_dir else None,
            base_url=args.url,
            progress=progress,
        )
    finally:
        print(file=sys.stderr)  # end the progress line, also before an error message
    _emit({"downloaded": {k: str(v) for k, v in paths.items()}})
    return 0


DEFAULT_TRIALS = 20  # search --trials for the tpe and random samplers


def _search_space(args: argparse.Namespace) -> Any:
    """The --space file's search space, else the search preset's own (its lab.space, as in
    assets/presets/search/): `search assets/presets/search/1_book_6_5.json` runs the book's."""
    from engine import search
    from engine.presets import load_preset

    if args.space:
        return search.Space.from_json(read_file(args.space, "--space", MAX_JSON_BYTES))
    space = load_preset(args.config).lab.get("space")
    if space is None:
        raise ConfigError("--space", f"is needed: {args.config} holds no search space (lab.space)")
    return search.Space.from_json(json.dumps(space))


def cmd_search(args: argparse.Namespace) -> int:
    import optuna

    from engine import search

    # Optuna's INFO lines ("Trial 3 finished with value ...") would only repeat our JSON; its
    # warnings (e.g. a failed trial) go to stderr, where its default handler writes.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name, value in (("--trials", args.trials), ("--timeout", args.timeout)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ConfigError(name, f"must be a positive number, got {value}")
    search.check_trials(args.trials, "--trials")  # before a study is created for nothing
    if args.seed is not None:
        _check_seed(args.seed)
    space = _search_space(args)
    # The trainer validates the config and builds its data once; trials with the same data
    # config reuse that dataset (and the --points one, which cannot be rebuilt from a config).
    first = make_trainer(args)
    base, dataset = first.cfg, first.data
    if args.sampler == "grid":
        space.grid()  # refuse a grid without finite values before touching the storage
    storage = args.storage or search.default_storage()
    pruner = optuna.pruners.NopPruner() if args.no_prune else None
    try:
        study = search.make_study(
            storage,
            args.study,
            args.sampler,
            args.seed,
            space.direction,
            space=space,
            pruner=pruner,
        )
    except ConfigError as e:
        raise ConfigError(f"--{e.field}", str(e).split(": ", 1)[1]) from None
    _check_same_setup(study, base, space)
    n_trials = args.trials or (None if args.sampler == "grid" else DEFAULT_TRIALS)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        row = search.trial_row(trial)
        row.pop("intermediate")
        _emit(row)

    start = time.perf_counter()
    status = 0
    try:
        search.run_search(base, space, study, n_trials, args.timeout, report, dataset=dataset)
    except KeyboardInterrupt:
        print("interrupted: the study keeps the finished trials", file=sys.stderr)
        status = 130
    _emit(_search_summary(study, storage, args, space, time.perf_counter() - start))
    return status


def _check_same_setup(study: Any, base: Config, space: Any) -> None:
    """Workers of one study must search one space from one base config."""
    from engine.search import study_setup

    try:
        old_base, old_space = study_setup(study)
    except ConfigError:
        return  # recorded by an older version of the engine: nothing to compare with
    if old_space is not None and old_space != space:
        raise ConfigError(
            "--space",
            f"study {study.study_name!r} was started with another search space; use the same "
            "space file on every worker, or a new --study name",
        )
    if old_base is not None and old_base != base:
        raise ConfigError(
            "--study",
            f"study {study.study_name!r} was started from another run config; use the same "
            "config and --set options on every worker, or a new --study name",
        )


def _search_summary(
    study: Any, storage: str, args: argparse.Namespace, space: Any, seconds: float
) -> dict[str, Any]:
    from engine import search

    rows = search.trials_table(study)
    states = [r["state"] for r in rows]
    best = search.best_trial(study)
    if best is None:
        print("no trial of the study has completed", file=sys.stderr)
    return {
        "summary": True,
        "study": study.study_name,
        "storage": search.hide_password(storage),
        "sampler": args.sampler,
        "objective": space.objective,
        "direction": space.direction,
        "trials": len(rows),  # every worker's, as the storage holds them now
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "running": states.count("RUNNING"),
        "best_trial": best.number if best else None,
        "best_value": best.value if best else None,
        "best_params": dict(best.params) if best else None,
        "best_config": best.user_attrs.get("config") if best else None,
        "seconds": round(seconds, 3),
    }


def _check_seed(seed: int) -> None:
    if not 0 <= seed <= SEED_MAX:
        raise ConfigError("--seed", f"must be between 0 and {SEED_MAX} (2**32 - 1), got {seed}")


PCA_MARGIN = 1.25  # --directions pca: the slice reaches this far past the trajectory's extent


def _load_checkpoint(path: str) -> Trainer:
    """Trainer.load, with any failure as a ConfigError naming the file."""
    import pickle

    from engine.trainer import Trainer

    if not os.path.exists(path):
        raise ConfigError("checkpoint", f"no such file: {path}")
    if not os.path.isfile(path):  # a FIFO would block torch.load, /dev/zero never end
        raise ConfigError("checkpoint", f"cannot load {path}: it is not a file")
    try:
        return Trainer.load(path)
    except ConfigError:
        raise
    except FileNotFoundError:
        raise ConfigError("checkpoint", f"no such file: {path}") from None
    except (OSError, ValueError, RuntimeError, EOFError, KeyError, pickle.UnpicklingError) as e:
        # Trainer.load's own ValueError says what is wrong; torch's unpickling errors are pages
        reason = str(e) if type(e) is ValueError else "not a PyTorch checkpoint file"
        raise ConfigError(
            "checkpoint", f"cannot load {path}: {reason}; give a file that `train --save` wrote"
        ) from None


def cmd_landscape(args: argparse.Namespace) -> int:
    from engine import landscape as ls

    for name, value, low in (("--grid", args.grid, 2), ("--samples", args.samples, 1)):
        if value < low:
            raise ConfigError(name, f"must be at least {low}, got {value}")
    if not (math.isfinite(args.span) and args.span > 0):
        raise ConfigError("--span", f"must be a positive number, got {args.span}")
    _check_seed(args.seed)
    trainer = _load_checkpoint(args.checkpoint)
    model, loss_fn = trainer.model, trainer.loss_fn
    n = min(args.samples, len(trainer.train_split.y))
    x, y = trainer.train_split.x[:n], trainer.train_split.y[:n]
    final = ls.snapshot(model)

    def progress(what: str) -> ls.Progress:
        def show(done: int, total: int) -> None:
            end = "\n" if done == total else ""
            print(f"\r{what}: {done}/{total} points", end=end, file=sys.stderr, flush=True)

        return show

    start = time.perf_counter()
    out: dict[str, Any] = {"grid": args.grid, "span": args.span, "directions": args.directions}
    span = args.span
    if args.directions == "pca":
        trajectory = [trainer.initial_params] + [p for _, p in trainer.snapshots]
        try:
            pca = ls.pca_directions(trajectory, final)
        except ValueError as e:
            # `train --save` keeps only the initial weights; a Trainer made with
            # snapshot_every > 0 (the lab page's) keeps the trajectory
            raise ConfigError("--directions", f"pca: {e}") from None
        d1, d2 = pca.d1, pca.d2
        span = args.span * PCA_MARGIN * max(float(abs(pca.coords).max()), 1e-12)
        out["explained"] = pca.explained.tolist()
        out["trajectory"] = pca.coords.tolist()
    else:
        g = torch.Generator().manual_seed(args.seed)
        d1, d2 = ls.random_direction(model, g), ls.random_direction(model, g)
    res = ls.slice_2d(
        model, final, d1, d2, x, y, loss_fn, grid=args.grid, span=span, progress=progress("slice")
    )
    out["alphas"], out["betas"], out["loss"] = (
        res.alphas.tolist(),
        res.betas.tolist(),
        res.losses.tolist(),
    )
    if args.line:
        ln = ls.line(model, trainer.initial_params, final, x, y, loss_fn, progress=progress("line"))
        out["line"] = {"alphas": ln.alphas.tolist(), "loss": ln.losses.tolist()}
    out["samples"] = n
    out["seconds"] = round(time.perf_counter() - start, 3)
    _emit(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    from engine.data import DataError

    torch.set_num_threads(1)  # small nets train several times faster single-threaded
    args = _parser().parse_args(argv)
    try:
        if args.command == "config":
            base = load_config(args.config, []) if args.config else Config()
            _emit(base.with_overrides(args.set).to_dict())
            return 0
        commands = {
            "train": cmd_train,
            "probe": cmd_probe,
            "data": cmd_data,
            "landscape": cmd_landscape,
            "search": cmd_search,
            "kfold": cmd_kfold,
        }
        return commands[args.command](args)
    except ConfigError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return USAGE_ERROR
    except DataError as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 1
