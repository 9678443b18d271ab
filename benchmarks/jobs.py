"""The jobs the benchmark times, built from what users run.

Models are built by `training.build_model(settings)` and compiled with `training.make_optimizer(...)` and
`registry.compile_kwargs(...)`, as `python -m drrdn_tf.train` does. A training step is timed through
`model.make_train_function()`: the function `fit` calls once per step (next batch from the tf.data iterator +
the compiled `train_step`), called directly with the iterator kept across repetitions, so neither `fit`'s
per-call set-up nor its callbacks are timed. The attack's share of a step comes from the same method built
with pgd_steps=0 (the exact train_step graph minus the PGD iterations). Evaluation attacks are the `PGD`
class on the classifier's inference path, beside compiled forward + backward passes on the same batch.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from benchmarks import flops
from benchmarks.harness import Job, TraceCounter, progress


def build_compiled(settings, input_shape, steps_per_epoch: int):
    """The model users train, compiled as `training.run` compiles it."""
    from drrdn_tf import training
    from drrdn_tf.methods import registry
    model = training.build_model(settings, input_shape, 10)
    model.compile(optimizer=training.make_optimizer(settings, steps_per_epoch),
                  **registry.compile_kwargs(settings, model), jit_compile=settings.jit_compile)
    return model


def build_with_rest(settings, input_shape, steps_per_epoch: int):
    """(the compiled model, the same method with pgd_steps=0 or None for Standard, which has no attack)."""
    import dataclasses
    model = build_compiled(settings, input_shape, steps_per_epoch)
    rest = None if settings.method == "standard" else \
        build_compiled(dataclasses.replace(settings, pgd_steps=0), input_shape, steps_per_epoch)
    return model, rest


def tf_functions_of(fn, depth: int = 4) -> list:
    """The tf.functions `fn` is made of: itself, or those found in its closures / __wrapped__ (Keras builds
    `train_function` as a plain Python function closing over its tf.functions)."""
    found, seen = [], set()

    def walk(f, d):
        if id(f) in seen:
            return
        seen.add(id(f))
        if hasattr(f, "experimental_get_tracing_count"):
            found.append(f)
            return
        if d == 0 or not callable(f):
            return
        inner = [getattr(f, "__wrapped__", None)]
        for cell in getattr(f, "__closure__", None) or ():
            try:
                inner.append(cell.cell_contents)
            except ValueError:
                pass
        for g in inner:
            if g is not None and (hasattr(g, "experimental_get_tracing_count") or hasattr(g, "__closure__")):
                walk(g, d - 1)

    walk(fn, depth)
    return found


def counted_train_function(model):
    """model.make_train_function(), with a TraceCounter over it: a counter around `train_step` (Python runs it
    only while tracing) plus the tracing counts of the tf.functions Keras' train function is made of."""
    python_traces = [0]
    original = model.train_step

    def counted_train_step(data):
        python_traces[0] += 1
        return original(data)

    model.train_step = counted_train_step
    model.make_train_function()
    train_function = model.train_function
    counter = TraceCounter([lambda: python_traces[0]] +
                           [f.experimental_get_tracing_count for f in tf_functions_of(train_function)])
    return train_function, counter


def train_jobs(method: str, model, sources: Dict[str, object], pgd_steps: int, batch: int, prefix: str,
               rest_model=None) -> Dict[str, Job]:
    """Jobs for one compiled model: a train step per data source (the same train function); and, with
    `rest_model` (the same method built with pgd_steps=0), the step without its attack iterations, on the
    synthetic batch: the attack's share of a step is 1 - rest/step, both timed on the exact train_step graph."""
    train_function, counter = counted_train_function(model)
    step_flops = flops.train_flops(model, method, pgd_steps)
    jobs = {}
    for source, dataset in sources.items():
        iterator = iter(dataset)
        jobs[source] = Job(f"{prefix}{method}/{source}", (lambda it=iterator: train_function(it)), batch,
                           step_flops, counter)
    if rest_model is not None:
        rest_function, rest_counter = counted_train_function(rest_model)
        iterator = iter(sources["synthetic"])
        jobs["rest"] = Job(f"{prefix}{method}/no_attack", (lambda it=iterator: rest_function(it)), batch,
                           flops.train_flops(rest_model, method, 0), rest_counter)
    return jobs


def _fwd_bwd(fn, weights):
    """A compiled forward + backward of the cross-entropy of fn: gradients w.r.t. the input, and `weights`."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def run(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=fn(x)))
        return tape.gradient(loss, [x] + weights if weights else x)
    return run


def attack_jobs(model, settings, images, labels, attack_steps: List[int]) -> Tuple[List[Job], dict]:
    """(jobs, {K: PGD}) for a compiled baseline classifier (SmallCNN, 28x28x1): the evaluation PGD-K for every
    K, and four compiled forward + backward passes on the same batch: w.r.t. the input, and with the encoder's
    weight gradients, each with drrdn_tf's Conv2D and with keras.layers.Conv2D on the same weights (what
    drrdn_tf's Conv2D saves in every PGD step and in every update)."""
    import keras

    from drrdn_tf.attacks.pgd import PGD
    from drrdn_tf.nn import backbones

    batch = int(images.shape[0])
    f = flops.inference_flops(model)
    model_fn = lambda v: model(v, training=False)  # noqa: E731
    jobs, attacks = [], {}
    for k in attack_steps:
        attack = attacks[k] = PGD(model_fn, eps=settings.eps, step_size=settings.step_size, steps=k, seed=0)
        jobs.append(Job(f"pgd{k}", (lambda a=attack: a.perturb(images, labels)), batch, (2 * k + 1) * f,
                        TraceCounter([attack.tracing_count])))
    encoder, head = model.inference_layers()
    keras_encoder = backbones.small_cnn((28, 28, 1), conv=keras.layers.Conv2D)
    keras_encoder.set_weights(encoder.get_weights())
    keras_fn = lambda v: head(keras_encoder(v, training=False), training=False)  # noqa: E731
    for name, fn, job_flops in (
            ("fwd_bwd", _fwd_bwd(model_fn, None), 2 * f),
            ("fwd_bwd_keras_conv", _fwd_bwd(keras_fn, None), 2 * f),
            ("fwd_bwd_weights", _fwd_bwd(model_fn, encoder.trainable_variables), 3 * f),
            ("fwd_bwd_weights_keras_conv", _fwd_bwd(keras_fn, keras_encoder.trainable_variables), 3 * f)):
        jobs.append(Job(name, (lambda fb=fn: fb(images, labels)), batch, job_flops,
                        TraceCounter([fn.experimental_get_tracing_count])))
    return jobs, attacks


def pgd_profile(attack, images, labels, model, matmul_gflops: float) -> dict:
    """One call of `attack` (a PGD) on the batch under tf.profiler (`opprofile.profile_call`), per PGD step:
    seconds by op kind, their share of the call's wall time, and the convolution ops' GFLOP/s."""
    from benchmarks import opprofile
    summary = opprofile.profile_call(lambda: attack.perturb(images, labels))
    if "error" in summary:
        progress(f"PGD profile unavailable: {summary['error']}")
        return summary
    steps, wall = attack.steps, summary["wall_seconds"]
    out = {"steps": steps, "wall_seconds": wall, "busy_fraction": summary["busy_seconds"] / wall,
           "kinds": {k: {"ms_per_step": 1e3 * v["seconds"] / steps, "fraction_of_wall": v["seconds"] / wall,
                         "events": v["events"]} for k, v in summary["kinds"].items()},
           "top_ops": summary["top_ops"]}
    conv_seconds = summary["kinds"]["convolution"]["seconds"]
    if conv_seconds > 0:
        conv_flops = int(images.shape[0]) * flops.pgd_conv_op_flops(model, steps)
        out["convolution_gflops"] = conv_flops / conv_seconds / 1e9
        out["convolution_fraction_of_matmul"] = out["convolution_gflops"] / matmul_gflops
    return out
