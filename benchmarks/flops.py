"""The FLOP model: "useful" work, counted from the layer shapes of the models the benchmark builds.

Only Conv2D and Dense multiply-adds count, 2 FLOPs each: 2*H_out*W_out*k*k*C_in*C_out per Conv2D, 2*in*out per
Dense (bias, activations, pooling, batch norm and the loss are not counted). Dense layers are taken to see one
feature row per image (true for every module in drrdn_tf).

  F    forward FLOPs of one image through the inference path (`model.inference_layers()`); tf.profiler's
       `float_ops` of the inference graph is reported beside it as a cross-check (`profiler_flops`).
  F_a  forward FLOPs of the path the attacks run (`model.attack_path_layers()`): F, except that DRRDN folds
       its linear d_s into c_s (the fold itself, one D x D x units product per attack, is not counted).
  A PGD step (forward + backward to the input, no weight gradients) counts 2 F_a; a forward + backward with
  weight gradients inside a training tape counts 3x the forward FLOPs per image per pass.
  Per training image, with K the attack's steps (`STEP_FLOPS`):
    Standard 3F;  Madry 2K*F_a + 3F;  TRADES F (natural logits) + 2K*F_a + 2*3F (the tape sees x and x');
    DRRDN 2K*F_a + 3x the forward FLOPs of every module use of its three updates, each on [x; x'].
  Evaluation PGD-K (keep_best): 2K*F + F (the final forward that checks the last iterate). Forward + backward
  w.r.t. the input: 2F. Matmul: 2 n^3. GFLOP/s = images/s * FLOPs per image / 1e9.
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, Optional

from absl import logging

from benchmarks.harness import progress

CONVENTION = ("Conv2D/Dense multiply-adds only, 2 FLOPs each; F = inference-path forward FLOPs per image; PGD "
              "step = 2F (forward + input-gradient backward); a forward+backward pass in a training tape = 3F "
              "per image; evaluation PGD-K (keep_best) = 2K*F + F; Standard 3F, Madry 2K*F + 3F, TRADES F + "
              "2K*F + 6F, DRRDN 2K*F + 6*(forward FLOPs of the modules its three tapes run); matmul 2n^3")


def sublayers(layer) -> Iterator:
    """`layer` and every layer inside it, each once: a keras.Model's `.layers`, and for any other layer the
    layers (or lists, tuples and dicts of layers) held in its public attributes, recursively."""
    import keras
    seen = set()

    def children(obj):
        if isinstance(obj, keras.Model):
            return list(obj.layers)
        return [v for k, v in vars(obj).items() if not k.startswith("_")]

    def walk(obj):
        if isinstance(obj, keras.layers.Layer):
            if id(obj) in seen:
                return
            seen.add(id(obj))
            yield obj
            for child in children(obj):
                yield from walk(child)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                yield from walk(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                yield from walk(item)

    return walk(layer)


def _conv_output_hw(conv) -> tuple:
    """(H_out, W_out) of a Conv2D that has been called on a symbolic input (a functional model's layer)."""
    shape = conv.output.shape
    return (shape[1], shape[2]) if conv.data_format == "channels_last" else (shape[2], shape[3])


def layer_flops(layer) -> int:
    """Forward FLOPs per image of every Conv2D and Dense inside `layer` (module doc's convention)."""
    import keras
    total = 0
    for sub in sublayers(layer):
        if isinstance(sub, keras.layers.Conv2D):
            kh, kw, cin_per_group, cout = (int(d) for d in sub.kernel.shape)
            h, w = _conv_output_hw(sub)
            total += 2 * int(h) * int(w) * kh * kw * cin_per_group * cout
        elif isinstance(sub, keras.layers.Dense):
            din, dout = (int(d) for d in sub.kernel.shape)
            total += 2 * din * dout
    return total


def inference_flops(model) -> int:
    """F: forward FLOPs per image of the inference path (images -> logits) as `call` computes it."""
    return sum(layer_flops(m) for m in model.inference_layers())


def attack_path_flops(model) -> int:
    """F_a: forward FLOPs per image of the path the attacks run (`model.inference_fn()`)."""
    return sum(layer_flops(m) for m in model.attack_path_layers())


def training_attack_flops(model, method: str, pgd_steps: int) -> int:
    """FLOPs per image of the training attack's iterations (what a step with pgd_steps=0 leaves out; TRADES'
    natural-logits forward stays in that step). The same for every method: 2K*F_a."""
    return 2 * pgd_steps * attack_path_flops(model)


def _drrdn_update_flops(model) -> int:
    """FLOPs per batch image of DRRDN's train step besides the attack, counted on its 2 images [x; x']: every
    module 3x per use (forward, and backward with input and weight gradients). With F = g + d_s + c_s (the
    inference path): update 1 runs F, d_i, c_i(z_i) and c_i(sg z_s); T's update runs T on joint and shuffled
    pairs; update 3 runs g, d_s, d_i again, c_i(z_s) and c_s(z_i), i.e. F, d_i, c_i; with MI or REC on, also
    d_s and d_i on sg(z), T twice (MI) and r (REC)."""
    path = model.inference_layers()             # encoder, the representation (d_s), the head (c_s)
    aux = {name: layer_flops(m) for name, m in model.auxiliary_layers().items()}
    f = sum(layer_flops(m) for m in path)
    d_s = sum(layer_flops(m) for m in path[1:-1])
    d_i, c_i, t, rec = aux["d_i"], aux["c_i"], aux["mine"], aux["reconstructor"]
    uses = (f + d_i + 2 * c_i) + 2 * t + (f + d_i + c_i)
    if model.lambda_mi or model.lambda_rec:
        uses += d_s + d_i + (2 * t if model.lambda_mi else 0) + (rec if model.lambda_rec else 0)
    return 2 * 3 * uses


#: method name -> FLOPs per training image of one train step, from (model, the attack's steps K)
STEP_FLOPS: Dict[str, Callable[[object, int], int]] = {
    "standard": lambda m, k: 3 * inference_flops(m),
    "madry": lambda m, k: training_attack_flops(m, "madry", k) + 3 * inference_flops(m),
    "trades": lambda m, k: inference_flops(m) + training_attack_flops(m, "trades", k) + 2 * 3 * inference_flops(m),
    "drrdn": lambda m, k: training_attack_flops(m, "drrdn", k) + _drrdn_update_flops(m),
}


def train_flops(model, method: str, pgd_steps: int) -> int:
    """Useful FLOPs per training image of one train step of `method` (`STEP_FLOPS`)."""
    if method not in STEP_FLOPS:
        raise ValueError(method)
    return STEP_FLOPS[method](model, pgd_steps)


def pgd_conv_op_flops(model, steps: int) -> int:
    """FLOPs per image that the convolution ops themselves run in an evaluation PGD-`steps` call (keep_best):
    every Conv2D's forward steps + 1 times, and its input gradient `steps` times unless drrdn_tf's Conv2D
    computes that gradient as a matmul + col2im (a first layer with few input channels)."""
    import keras

    from drrdn_tf.nn.fast.conv import Conv2D as FastConv2D
    total = 0
    for module in model.attack_path_layers():
        for sub in sublayers(module):
            if isinstance(sub, keras.layers.Conv2D):
                f = layer_flops(sub)
                total += (steps + 1) * f
                if not (isinstance(sub, FastConv2D) and sub.uses_fast_input_gradient(sub.input)):
                    total += steps * f
    return total


def profiler_flops(model, input_shape) -> Optional[int]:
    """tf.profiler's float_ops of the inference graph for one image (a cross-check), or None.

    The graph is the concrete function's own (variables captured, not frozen into constants): the profiler
    reads the kernels' static shapes from the variable handles, so the count equals the frozen graph's."""
    import tensorflow as tf
    try:
        graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(
            tf.TensorSpec((1,) + tuple(input_shape), tf.float32)).graph
        opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        opts["output"] = "none"
        verbosity = logging.get_verbosity()
        logging.set_verbosity(logging.ERROR)
        try:
            prof = tf.compat.v1.profiler.profile(graph=graph, run_meta=tf.compat.v1.RunMetadata(), cmd="op",
                                                 options=opts)
        finally:
            logging.set_verbosity(verbosity)
        return int(prof.total_float_ops)
    except Exception as e:  # noqa: BLE001 - only a cross-check
        progress(f"tf.profiler FLOP count unavailable: {type(e).__name__}: {e}")
        return None
