"""Every table and figure of the paper from trained run folders: issue 13's one entry point.

    python -m drrdn_tf.experiments.reproduce --runs=results/mnist --dataset=mnist --data_dir=../shared/data
    python -m drrdn_tf.experiments.reproduce --runs=DIR --dataset=mnist --tiny     # seconds: the code paths only

`<runs>` holds one run folder per method, `<runs>/{standard,madry,trades,drrdn}`, each written by
`python -m drrdn_tf.train` (`savedmodel/` once the run has finished, `model.keras` where it was trained, and
`checkpoint/`, from which the analyses rebuild the whole model where model.keras is absent).
  1. Every method folder with a `savedmodel/` and a finished run is evaluated (`drrdn_tf.evaluation`, the
     SavedModel as any user would load it; a run resumed to more epochs is skipped with a note until it has
     finished, for its savedmodel/ is still the earlier model's): the `paper` preset, the protocol of the
     paper's Tables 1/2, with a transfer column from each *other* method's SavedModel, on the first
     --num_examples test images (default: the whole test split) -> `<method>/eval_paper.json`; the
     `autoattack` preset on the first --autoattack_examples (default 1,000) -> `<method>/eval_autoattack.json`.
     Both with the masking checks. Then the per-example flags of the paper preset's natural, FGSM, PGD-40 and
     CW-40 columns, rerun exactly (`paired.py`) -> `<method>/paired.json`, from which the reports compare two
     models image by image (paired bands, much narrower than the unpaired ones).
  2. Table 4's variants (`ablation.py`: `<runs>/ablation/{drrdn,drrdn-mi,drrdn-rec}`, those with a
     `savedmodel/`): the paper preset without transfer -> `<variant>/eval_paper.json`. Then, of these and the
     default DRRDN (their whole models), a fresh MINE's estimate of I(z_s; z_i) (`mutual_information.py`:
     did the MI term do what it is for?) -> `<runs>/ablation/mutual_information.json` (+ .md).
  3. With the whole DRRDN and Standard models (model.keras or a finished checkpoint): Figure 2 (`figure2.py`)
     -> `figure2.png` (+ .json) and Table 3 (`table3.py`) -> `table3.json` (+ .md); skipped with a note
     otherwise. The DRRDN is Table 4's full variant where it exists (its r is trained), else `<runs>/drrdn`
     (`analysis_drrdn`).
  4. `<runs>/tables.md` (`reproduce_tables.tables_markdown`): our numbers beside the paper's, every one read
     from the JSONs.
Resumable: an output that exists is kept (delete it to recompute), so rerunning the command after an
interruption continues with the first missing one; a rerun with everything in place only rewrites tables.md.
Within an evaluation, each finished attack column is saved to `<output>.progress.json` (`evaluation.progress`),
so an interrupted one resumes after its last finished column.
A kept paper-preset JSON that lacks the transfer column of a model finished since gets that column added
(`evaluation.add_transfer`), not the whole preset rerun.
An output whose models have trained further since it was computed (each output records the epochs of every
model it used, read from the run folders' history.json) is stale and recomputed. `--steps` runs some steps only
(e.g. `--steps=autoattack`: the AutoAttack-grade column of every model, without the paper preset's long run);
`--methods` evaluates some models only (e.g. `--methods=drrdn,madry`; the others still give transfer columns).
JSONs record paths relative to the working directory (run from the repository root). Bad input (no such
folder, no method folder with a savedmodel, an unknown data set, a model that does not fit it) is one line on
stderr and exit status 2.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Callable, Dict, List, Optional

from absl import flags

from drrdn_tf.cli.common import fail, run_app
from drrdn_tf.experiments import ablation, mutual_information, paired
from drrdn_tf.evaluation.settings import TINY_AUTOATTACK_BUDGET
from drrdn_tf.experiments.representations import has_model
from drrdn_tf.experiments.reproduce_tables import METHODS, of_current_models, read_if_exists, tables_markdown

__all__ = ["reproduce", "plan", "Step", "method_folders", "tables_markdown", "Budget", "TINY", "FULL", "STEPS"]

PAPER_JSON, AUTOATTACK_JSON = "eval_paper.json", "eval_autoattack.json"
PROGRESS = ".progress.json"   # <output> + PROGRESS: an unfinished evaluation's finished columns
#: Every step, in the order they run: the two evaluation presets and the paired record of each model, the
#: paper preset (no transfer) of each Table 4 variant and the variants' mutual-information estimate, then the two
#: analyses.
STEPS = ("paper", "autoattack", "paired", "table4", "mutual_information", "figure2", "table3")
MODEL_STEPS = ("paper", "autoattack", "paired")   # the steps run on every method folder


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much each step runs: test images per preset (None = the whole test split), the autoattack preset's
    budget (None = AutoAttack's standard one), the masking checks' examples, and Figure 2's and Table 3's sizes
    (PGD steps of their white-box attack, test images, fine-tuning images and epochs), and the mutual-information
    estimate's (training images of its statistics networks, None = all but the runs' validation images; how
    many networks per model; their steps; it is scored on num_examples test images)."""

    num_examples: Optional[int] = None
    autoattack_examples: int = 1000
    autoattack_budget: Optional[dict] = None
    masking_examples: int = 200
    figure2_examples: int = 500
    analysis_steps: int = 40
    table3_examples: Optional[int] = None
    finetune_examples: int = 10000
    finetune_epochs: int = 5
    mi_train_examples: Optional[int] = None
    mi_seeds: int = 3
    mi_steps: int = 3000


FULL = Budget()
#: --tiny: every step on a handful of images with token budgets (tests; checks the code paths only).
TINY = Budget(num_examples=32, autoattack_examples=32, autoattack_budget=TINY_AUTOATTACK_BUDGET,
              masking_examples=16, figure2_examples=20, analysis_steps=1, table3_examples=32,
              finetune_examples=256, finetune_epochs=1, mi_train_examples=1024, mi_seeds=1, mi_steps=10)


def unfinished(folder: str) -> Optional[str]:
    """Why the run folder's saved models are not (yet) the model its history.json ends with, or None. A run
    writes `savedmodel/` and `model.keras` when it finishes its planned epochs (config.json), so a run being
    resumed to more epochs, or interrupted, still holds an earlier model's; evaluating it would record the wrong
    epochs. A folder without config.json or history.json counts as finished."""
    from drrdn_tf.files import read_json
    config, history = os.path.join(folder, "config.json"), os.path.join(folder, "history.json")
    if not (os.path.exists(config) and os.path.exists(history)):
        return None
    planned, done = read_json(config)["settings"]["epochs"], len(read_json(history)["epochs"])
    return None if done >= planned else f"its training has done {done} of {planned} epochs"


def _finished_with_savedmodel(folders: Dict[str, str]) -> Dict[str, str]:
    """The folders of `folders` that have a `savedmodel/` and whose run has finished (a note for the others)."""
    out = {}
    for name, folder in folders.items():
        if os.path.isdir(os.path.join(folder, "savedmodel")):
            why = unfinished(folder)
            if why is None:
                out[name] = folder
            else:
                print(f"{folder} skipped: {why} (its savedmodel/ is an earlier model's); rerun once it has "
                      "finished", flush=True)
    return out


def ablation_folders(runs: str) -> Dict[str, str]:
    """{variant: run folder} for Table 4's variants (`ablation.VARIANTS`) with a `savedmodel/` under
    `<runs>/ablation/` and a finished run."""
    return _finished_with_savedmodel({v: os.path.join(runs, ablation.FOLDER, v) for v in ablation.VARIANTS})


def analysis_drrdn(runs: str) -> str:
    """The DRRDN run folder that Figure 2 and Table 3 look at: Table 4's full variant (MI and REC on, so r is
    trained) where its whole model is there, else `<runs>/drrdn` (the default, whose r is never trained)."""
    full = os.path.join(runs, ablation.FOLDER, "drrdn")
    return full if has_model(full) else os.path.join(runs, "drrdn")


def method_folders(runs: str) -> Dict[str, str]:
    """{method: run folder} for the methods of `METHODS` whose folder under `runs` has a `savedmodel/` and a
    finished run (`unfinished`), in the paper's row order."""
    return _finished_with_savedmodel({m: os.path.join(runs, m) for m, _ in METHODS})


class Models:
    """The methods' SavedModels, loaded (and checked against the data set) on first use, each once."""

    def __init__(self, folders: Dict[str, str], dataset: str):
        self.folders, self.dataset, self._fns = folders, dataset, {}

    def path(self, method: str) -> str:
        return os.path.join(self.folders[method], "savedmodel")

    def fn(self, method: str) -> Callable:
        from drrdn_tf import evaluation
        if method not in self._fns:
            self._fns[method] = evaluation.load_checked(self.path(method), self.dataset, f"{method}'s model")[0]
        return self._fns[method]

    def surrogates(self, method: str) -> dict:
        """{column name: (model_fn, recorded path)} of every other method's SavedModel (the name is the run
        folder's, as `python -m drrdn_tf.evaluate --surrogates` names it)."""
        from drrdn_tf import evaluation
        from drrdn_tf.files import recorded_path
        return {evaluation.model_name(self.path(m)): (self.fn(m), recorded_path(self.path(m)))
                for m in self.folders if m != method}


def evaluate_method(models: Models, method: str, preset: str, raw, n: Optional[int], budget: Budget,
                    output: str, per_example: bool = False, seed: int = 0, batch_size: int = 256,
                    transfer: bool = True) -> dict:
    """One preset on the method's SavedModel and the first n test images (None = all) -> `output` (JSON); the
    paper preset with a transfer column from every other model of `models` unless `transfer` is False. The
    autoattack preset always keeps its per-example flags (a few thousand values on its 1,000 images), so two
    models' AutoAttack-grade accuracies can be compared image by image (`paired.compare`)."""
    import numpy as np

    from drrdn_tf import data, evaluation
    from drrdn_tf.files import write_json
    n = min(n or len(raw.test.labels), len(raw.test.labels))
    surrogates = models.surrogates(method) if preset == "paper" and transfer else {}
    results = evaluation.evaluate(
        models.fn(method), data.to_float(raw.test.images[:n]), raw.test.labels[:n].astype(np.int32),
        models.dataset, preset=preset, batch_size=batch_size, surrogates={k: fn for k, (fn, _) in surrogates.items()},
        seed=seed, masking_examples=budget.masking_examples, per_example=per_example or preset == "autoattack",
        model=method,
        log=lambda m: print(m, flush=True),
        autoattack_budget=budget.autoattack_budget if preset == "autoattack" else None,
        progress_file=output + PROGRESS)
    results.update(evaluation.provenance(models.path(method), surrogates, raw.source))
    results["examples"] = "the first num_examples images of the test split"
    results["produced_by"] = "python -m drrdn_tf.experiments.reproduce"
    write_json(output, results)
    print(evaluation.format_table(results), flush=True)
    return results


def evaluate_paired(models: Models, method: str, raw, n: Optional[int], output: str, seed: int = 0,
                    batch_size: int = 256) -> dict:
    """The paired record of the method's SavedModel (`paired.py`): the natural column and `paired.COLUMNS` of
    the paper preset, rerun exactly with per-example flags on the first n test images (None = all) ->
    `output` (JSON); checked against the method's eval_paper.json when that is there."""
    import numpy as np

    from drrdn_tf import data, evaluation
    from drrdn_tf.files import write_json
    n = min(n or len(raw.test.labels), len(raw.test.labels))
    results = evaluation.evaluate(
        models.fn(method), data.to_float(raw.test.images[:n]), raw.test.labels[:n].astype(np.int32),
        models.dataset, preset="paper", batch_size=batch_size, seed=seed, masking=False, per_example=True,
        model=method, log=lambda m: print(m, flush=True), columns=list(paired.COLUMNS), progress_file=output + PROGRESS)
    reference = read_if_exists(os.path.join(models.folders[method], PAPER_JSON))
    if not of_current_models(reference, {method: trained_epochs(models.folders[method])}):
        reference = None   # an earlier model's evaluation is nothing to reproduce
    record = paired.record_of(results, reference)
    record.update(evaluation.provenance(models.path(method), {}, raw.source))
    record["produced_by"] = "python -m drrdn_tf.experiments.reproduce --steps=paired"
    write_json(output, record)
    said = {True: "reproduces eval_paper.json's accuracies", False: "does NOT reproduce eval_paper.json's "
            "accuracies (see paper_preset_accuracy in the file)", None: "no comparable eval_paper.json to check"}
    print(evaluation.format_table(results) + f"\n    {said[record['reproduces_paper_preset']]}", flush=True)
    return record


def add_transfer_columns(models: Models, method: str, sources: List[str], raw, output: str,
                         batch_size: int = 256) -> dict:
    """Adds to the paper-preset JSON `output` of `method` a transfer column from each method of `sources`
    (`evaluation.add_transfer`: the other columns are kept, not rerun), on the test images it was computed on;
    records the new surrogates' paths and epochs."""
    import numpy as np

    from drrdn_tf import data, evaluation
    from drrdn_tf.files import read_json, recorded_path, write_json
    results = read_json(output)
    n = results["num_examples"]
    names = {m: evaluation.model_name(models.path(m)) for m in sources}   # the column names
    results = evaluation.add_transfer(results, models.fn(method), data.to_float(raw.test.images[:n]),
                                      raw.test.labels[:n].astype(np.int32),
                                      {names[m]: models.fn(m) for m in sources}, batch_size=batch_size,
                                      log=lambda m: print(m, flush=True), progress_file=output + PROGRESS)
    results["surrogates"] = {**results.get("surrogates", {}),
                             **{names[m]: recorded_path(models.path(m)) for m in sources}}
    results["surrogate_epochs"] = {**results.get("surrogate_epochs", {}),
                                   **{m: trained_epochs(models.folders[m]) for m in sources}}
    write_json(output, results)
    print(evaluation.format_table(results), flush=True)
    return results


def trained_epochs(folder: str) -> Optional[int]:
    """How many epochs the run folder's model has trained (its history.json), None without a history."""
    from drrdn_tf.files import read_json
    path = os.path.join(folder, "history.json")
    return len(read_json(path)["epochs"]) if os.path.exists(path) else None


def stale(record_path: str, epochs: Dict[str, Optional[int]]) -> bool:
    """True when the output recorded at `record_path` (a JSON) was computed from models trained for other
    epochs than `epochs` (`reproduce_tables.of_current_models`)."""
    return not of_current_models(read_if_exists(record_path), epochs)


def stale_transfer(path: str, surrogates: List[str]) -> List[str]:
    """The methods among `surrogates` that the paper-preset JSON at `path` has no transfer column from (it was
    computed before their models existed)."""
    from drrdn_tf.files import read_json
    have = set(read_json(path)["accuracy"])
    return [m for m in surrogates if f"transfer_{m}" not in have]


@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a reproduce run: `who` (a method, `ablation/<variant>` or "analyses") and `what` (a name of
    STEPS); the run folders it reads ({model name: folder}); the file it writes (`output`); the JSON that records
    the epochs of its models (`record`); and those epochs now ({model name: epochs in history.json})."""

    who: str
    what: str
    sources: Dict[str, str]
    output: str
    record: str
    epochs: Dict[str, Optional[int]]

    @property
    def model(self) -> str:
        """The (first) model it evaluates."""
        return next(iter(self.sources))

    def is_done(self) -> bool:
        """Its output exists and was computed on the models the folders hold now: their epochs, and for the
        analyses the DRRDN folder too (the default's until Table 4's full variant has finished, then that one's,
        also at 20 epochs)."""
        if not os.path.exists(self.output) or stale(self.record, self.epochs):
            return False
        if self.what not in ("figure2", "table3"):
            return True
        from drrdn_tf.files import recorded_path
        made_of = (read_if_exists(self.record) or {}).get("drrdn")
        return made_of is None or os.path.normpath(made_of) == os.path.normpath(recorded_path(self.sources["drrdn"]))


def make_step(runs: str, who: str, what: str, sources: Dict[str, str]) -> Step:
    """The Step of `what` on `sources`: its output and record files, and its models' epochs."""
    if what == "figure2":
        output, record = os.path.join(runs, "figure2.png"), os.path.join(runs, "figure2.json")
    elif what == "table3":
        output = record = os.path.join(runs, "table3.json")
    elif what == "mutual_information":
        output = record = os.path.join(runs, ablation.FOLDER, mutual_information.JSON)
    else:
        output = record = os.path.join(next(iter(sources.values())), {
            "autoattack": AUTOATTACK_JSON, "paired": paired.PAIRED_JSON}.get(what, PAPER_JSON))
    return Step(who, what, sources, output, record, {m: trained_epochs(f) for m, f in sources.items()})


def plan(runs: str, folders: Dict[str, str], variants: Dict[str, str], pair: Dict[str, str],
         steps_to_run) -> List[Step]:
    """The steps among `steps_to_run`, in STEPS' order: both presets and the paired record of every method
    folder, the paper preset of every Table 4 variant, then the analyses if both of `pair` have their whole
    model (else a note says why not)."""
    steps = [make_step(runs, m, p, {m: f}) for m, f in folders.items() for p in MODEL_STEPS if p in steps_to_run]
    if "table4" in steps_to_run:
        steps += [make_step(runs, f"{ablation.FOLDER}/{v}", "table4", {v: f}) for v, f in variants.items()]
    if "mutual_information" in steps_to_run and variants:
        whole = {n: f for n, f in {"default": os.path.join(runs, "drrdn"), **variants}.items() if has_model(f)}
        if whole:
            steps.append(make_step(runs, ablation.FOLDER, "mutual_information", whole))
    analyses = [a for a in ("figure2", "table3") if a in steps_to_run]
    waiting = [f"{f} ({why})" for f, why in ((f, unfinished(f)) for f in pair.values()) if why]
    if analyses and waiting:
        print(f"Figure 2 and Table 3 skipped: {', '.join(waiting)}; rerun once it has finished", flush=True)
    elif analyses and all(has_model(f) for f in pair.values()):
        steps += [make_step(runs, "analyses", a, pair) for a in analyses]
    elif analyses:
        print(f"Figure 2 and Table 3 skipped: they need the whole models of {pair['drrdn']} and "
              f"{pair['standard']} (model.keras, or config.json and a finished checkpoint/ to rebuild it from; "
              "the exported SavedModels hold only the inference path)", flush=True)
    return steps


def reproduce(runs: str, dataset: str, data_dir: Optional[str] = None, budget: Budget = FULL,
              per_example: bool = False, seed: int = 0, batch_size: int = 256,
              steps_to_run=STEPS, methods: Optional[List[str]] = None) -> List[str]:
    """Runs every missing or stale step among `steps_to_run` (names of STEPS) for the run folders under `runs`
    (see the module doc), then writes `<runs>/tables.md`; returns its lines. `methods` (default: all) limits
    the presets to those methods' models (every finished model still serves as a transfer surrogate). Raises
    ValueError for bad input (no method folder with a savedmodel, an unknown method, no data, a model that does
    not fit the data set)."""
    from drrdn_tf import data
    from drrdn_tf.files import read_json, recorded_path, write_json, write_text
    unknown = sorted(set(steps_to_run) - set(STEPS))
    if unknown or not steps_to_run:
        raise ValueError(f"unknown step(s) {', '.join(unknown) or '(none given)'}: choose among {', '.join(STEPS)}")
    folders = method_folders(runs)
    if not folders:
        raise ValueError(f"no finished run folder with a savedmodel/ under {runs}: expected "
                         f"{', '.join(os.path.join(runs, m, 'savedmodel') for m, _ in METHODS)} (written by "
                         "python -m drrdn_tf.train once a run has finished)")
    variants = ablation_folders(runs)
    pair = {"drrdn": analysis_drrdn(runs), "standard": os.path.join(runs, "standard")}
    known = [m for m, _ in METHODS]
    if methods is not None and (not methods or set(methods) - set(known)):
        raise ValueError(f"unknown method(s) {', '.join(sorted(set(methods) - set(known))) or '(none given)'}: "
                         f"choose among {', '.join(known)}")
    steps = [step for step in plan(runs, folders, variants, pair, steps_to_run)
             if methods is None or step.who not in folders or step.who in methods]
    todo = [step for step in steps if not step.is_done()]
    # A kept paper-preset JSON gets the transfer columns of models that were not there when it was computed.
    extend = {step.output: stale_transfer(step.output, [m for m in folders if m != step.who])
              for step in steps if step.what == "paper" and step not in todo}
    extend = {output: missing for output, missing in extend.items() if missing}
    models, variant_models, raw = Models(folders, dataset), Models(variants, dataset), None
    if todo or extend:
        raw = data.load_raw(dataset, data_dir, download=False)
        for step in todo:  # every SavedModel checked against the data set before the first long step
            if step.who != "analyses" and step.what != "mutual_information":
                (variant_models if step.what == "table4" else models).fn(step.model)
    sizes = {"paper": budget.num_examples, "autoattack": budget.autoattack_examples, "paired": budget.num_examples,
             "table4": budget.num_examples, "mutual_information": budget.num_examples,
             "figure2": budget.figure2_examples, "table3": budget.table3_examples}
    for i, step in enumerate(steps, 1):
        out = step.output
        head = f"[{i}/{len(steps)}] {step.who}: {'paper preset' if step.what == 'paper' else step.what}"
        if out in extend:
            print(f"{head}: adding the transfer column(s) from {', '.join(extend[out])} to {recorded_path(out)}",
                  flush=True)
            add_transfer_columns(models, step.who, extend[out], raw, out, batch_size)
            continue
        if step not in todo:
            print(f"{head}: kept {recorded_path(out)}", flush=True)
            continue
        n = min(sizes[step.what] or len(raw.test.labels), len(raw.test.labels))
        redo = " (stale: its model(s) trained further since)" if os.path.exists(out) else ""
        print(f"{head} on {n} images -> {recorded_path(out)}{redo}", flush=True)
        if step.who == "analyses":
            run_analysis(step.what, pair, dataset, raw, n, budget, out, seed)
        elif step.what == "paired":
            evaluate_paired(models, step.who, raw, n, out, seed, batch_size)
        elif step.what == "mutual_information":
            mutual_information.write(step.sources, dataset, raw, out, train_examples=budget.mi_train_examples,
                                     test_examples=n, seeds=budget.mi_seeds, steps=budget.mi_steps)
        elif step.what == "table4":  # the paper preset without transfer columns (Table 4 reads PGD-40/100)
            evaluate_method(variant_models, step.model, "paper", raw, n, budget, out, per_example, seed,
                            batch_size, transfer=False)
        else:
            evaluate_method(models, step.who, step.what, raw, n, budget, out, per_example, seed, batch_size)
        if os.path.exists(step.record):
            write_json(step.record, {**read_json(step.record), "model_epochs": step.epochs})
    lines = tables_markdown(runs, dataset)
    write_text(os.path.join(runs, "tables.md"), "\n".join(lines) + "\n")
    print(f"-> {recorded_path(os.path.join(runs, 'tables.md'))}", flush=True)
    return lines


def run_analysis(what: str, pair: Dict[str, str], dataset: str, raw, size: int, budget: Budget, output: str,
                 seed: int = 0) -> None:
    """Figure 2 or Table 3 of the run folders pair["drrdn"] and pair["standard"] (their whole models) -> `output`.
    A missing scikit-learn or matplotlib is a note, not an error (the other outputs still get written)."""
    import numpy as np

    from drrdn_tf import data, plots
    from drrdn_tf.experiments import figure2, table3
    drrdn, standard = pair["drrdn"], pair["standard"]
    try:
        if what == "figure2":
            figure2.write_figure2(drrdn, standard, dataset, data.to_float(raw.test.images[:size]),
                                  np.asarray(raw.test.labels[:size]), output, budget.analysis_steps, seed)
        else:
            table3.write_table3(drrdn, standard, dataset, raw, output, size, budget.finetune_examples,
                                budget.finetune_epochs, budget.analysis_steps, seed)
    except (ImportError, plots.PlotUnavailable) as e:
        print(f"    no {os.path.basename(output)}: {e}", flush=True)


# --------------------------------------------------------------------------- the command

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command's flags (defined only when it runs as a command, so importing the module defines none)."""
    flags.DEFINE_string("runs", "results/mnist", "folder holding one run folder per method (<runs>/<method>/)")
    flags.DEFINE_string("dataset", "mnist", "the data set the runs were trained on (its test split is attacked)")
    flags.DEFINE_string("data_dir", None, "folder holding <dataset>.npz (default: $DRRDN_DATA_DIR)")
    flags.DEFINE_integer("num_examples", None, "paper preset on the first N test images (default: all)")
    flags.DEFINE_integer("autoattack_examples", 1000, "autoattack preset on the first N test images")
    flags.DEFINE_integer("figure2_examples", 500, "Figure 2: t-SNE of the first N test images")
    flags.DEFINE_integer("batch_size", 256, "examples per attack batch")
    flags.DEFINE_integer("seed", 0, "seed of the attacks' random starts (and of t-SNE and the fine-tuning)")
    flags.DEFINE_boolean("per_example", False, "store per-example correctness in the paper-preset JSONs too (large; "
                         "the autoattack JSONs always have it, the paired step writes its own)")
    flags.DEFINE_boolean("tiny", False, "32 images, token attack budgets: checks the code paths in seconds")
    flags.DEFINE_list("steps", list(STEPS), f"run only these steps (of {', '.join(STEPS)}); tables.md shows all")
    flags.DEFINE_list("methods", None, "evaluate only these methods' models (default: every finished one; the "
                      "others still give transfer columns)")


def main(argv) -> None:
    import tensorflow as tf
    from absl import logging

    from drrdn_tf import datasets
    logging.set_verbosity(logging.ERROR)
    tf.get_logger().setLevel("ERROR")  # the retracing notices of the attacks' separate tf.functions
    if len(argv) > 1:
        fail(f"unexpected argument(s) {argv[1:]}: flags look like --name=value")
    if FLAGS.dataset not in datasets.NAMES:
        fail(f"unknown dataset {FLAGS.dataset!r}: choose one of {', '.join(datasets.NAMES)}")
    if not os.path.isdir(FLAGS.runs):
        fail(f"--runs={FLAGS.runs}: no such folder")
    for name in ("num_examples", "autoattack_examples", "figure2_examples", "batch_size"):
        value = getattr(FLAGS, name)
        if value is not None and value < (10 if name == "figure2_examples" else 1):
            fail(f"--{name} must be >= {10 if name == 'figure2_examples' else 1}, got {value}")
    sizes = {name: getattr(FLAGS, name) for name in ("num_examples", "autoattack_examples", "figure2_examples")
             if FLAGS[name].present}   # an explicit size wins over --tiny's
    if "num_examples" in sizes:
        sizes["table3_examples"] = sizes["num_examples"]
    budget = dataclasses.replace(TINY if FLAGS.tiny else FULL, **sizes)
    try:
        reproduce(FLAGS.runs, FLAGS.dataset, FLAGS.data_dir, budget, FLAGS.per_example, FLAGS.seed,
                  FLAGS.batch_size, FLAGS.steps, FLAGS.methods)
    except (ValueError, OSError) as e:
        fail(str(e))
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to continue (finished outputs are kept)", file=sys.stderr,
              flush=True)
        sys.exit(130)


if __name__ == "__main__":
    define_flags()
    run_app(main)
