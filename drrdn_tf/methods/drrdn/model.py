"""DRRDN (Yang et al., AAAI 2021): Algorithm 1 as a Keras `train_step`.

Modules (Fig. 1): encoder g (theta), disentanglers d_s (phi_s) and d_i (phi_i), class classifier c_s (w_s),
domain discriminator c_i (w_i), MINE statistics network T (psi), reconstructor r (theta_rec).
Inference (and the PGD that makes x'): g -> d_s -> c_s.

Each loss moves exactly the parameters of its superscript in the paper:
  Eq. 4  L_CE  {theta, phi_s, w_s}     Eq. 6  L_BC  {theta, phi_i, w_i}   Eq. 7  L_ADV {theta, phi_s}
  Eq. 8  L_ENT {theta, phi_i}          Eq. 9  MI    {phi_s, phi_i} (minimised), {psi} (maximised)
  Eq. 10 L_REC {phi_s, phi_i, theta_rec}
Eq. 11, the disentanglers' objective, is `disentangler_objective` below:
  lambda_adv * ramp * L_ADV + lambda_ent * L_ENT + lambda_mi * MI + lambda_rec * L_REC.

formulation="alternating" (default, Algorithm 1): one training step makes three updates, each with its own
tape and optimizer, in the order of Algorithm 1:
  1. classifiers (line 6): L_CE + L_BC on {theta, phi_s, phi_i, w_s, w_i}        -> `optimizer`
  2. MINE estimate (line 8): T maximises Eq. 9 on fixed (z_s, z_i), {psi}          -> `mine_optimizer`
  3. disentanglers (lines 7-9): Eq. 11 on {theta, phi_s, phi_i, theta_rec}, against the just-updated
     c_i*, c_s* and T                                                              -> `disentangler_optimizer`
  Update 3 computes z, z_s, z_i afresh, with the g, d_s, d_i that update 1 has just moved.
formulation="single": one forward pass, one tape, one gradient: the sum of every term, each routed to its
  superscript by stop-gradients on representations and on the weights of the players it must not move
  (`call_frozen`); T's gradient is applied by `mine_optimizer`, everything else by `optimizer`.
Routing inside a tape uses stop-gradients: L_BC sees sg(z_s) (it trains c_i on z_s but must not move d_s)
and reaches the encoder through z_i scaled by `bc_encoder_weight`; MI and L_REC see d_s(sg(z)), d_i(sg(z))
(they must not move the encoder). In the alternating form c_s and c_i are not in update 3's variables, so
L_ENT and L_ADV cannot move them. `tests/methods/test_drrdn.py` and
`tests/methods/test_drrdn_knobs.py` check all of this for every formulation and knob.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import keras
import tensorflow as tf

from drrdn_tf.distribute import gather_global_batch
from drrdn_tf.methods import losses
from drrdn_tf.config import ALIGNMENT_FORMS, ALIGNMENT_RAMPS as RAMPS, FORMULATIONS
from drrdn_tf.methods.drrdn import diagnostics, single_pass
from drrdn_tf.methods.drrdn.schedules import AlignmentRamp, optimizer_copy, scale_gradient
from drrdn_tf.nn.layers import Classifier, Disentangler, DomainDiscriminator, MineStatistics, Reconstructor
from drrdn_tf.methods.base import AdversarialModel, _split_data, head_kwargs, variables_of

#: MINE's marginal pairs (z_s, shuffled z_i) use one shuffle per training step and per side of Eq. 9's game,
#: so T's update and the disentanglers' see independent shuffles (seeded by the step: reproducible).
T_SHUFFLE, DISENTANGLER_SHUFFLE = 1, 2


@keras.saving.register_keras_serializable(package="drrdn_tf")
class DRRDN(AdversarialModel):
    """Deep Robust Representation Disentanglement Network.

    Defaults: the most robust variant that trained steadily in our stability study (results/stability): the
    adversarial CE at Madry's weight and every other term kept out of the encoder and d_s (c_i and d_i still
    train on L_BC). Every term as the paper prints it: `DRRDN(**drrdn_tf.config.DRRDN_AS_PRINTED, ...)`
    (it trained unsteadily and ended less robust than Madry; docs/design_notes.md).

    Args (besides AdversarialModel's encoder, num_classes, eps, step_size, pgd_steps, head):
      lambda_mi, lambda_rec: weights of MI (moves phi_s, phi_i) and L_REC (moves phi_s, phi_i, theta_rec) in
        Eq. 11; 0 switches a term off (the paper's DRRDN-MI and DRRDN-REC ablations).
      lambda_adv: weight of L_ADV (Eq. 7; moves theta, phi_s). lambda_ent: weight of L_ENT (Eq. 8; moves
        theta, phi_i). The paper's Eq. 11 has 1 for both.
      bc_encoder_weight: scale of L_BC's gradient into the encoder theta (through z_i); d_i and c_i always get
        L_BC's full gradient. 1 is Eq. 6 as printed, 0 keeps the encoder out of the discriminator's game.
      ce_adv_weight: alpha in L_CE = (1 - alpha) CE(z_s) + alpha CE(z'_s) (moves theta, phi_s, w_s). 0.5 is
        Eq. 4's mean over {z_s, z'_s}; 1 is Madry's objective.
      alignment: form of L_ADV, "confusion" (default), "minimax" (Eq. 7 as printed) or "one_sided" (only
        z'_s moves; see `losses.alignment_loss`).
      alignment_ramp: "none" or "dann": L_ADV and L_BC's encoder gradient are multiplied by DANN's
        2/(1+exp(-10p))-1, p going from 0 at epoch `alignment_ramp_start` to 1 at the last epoch of `fit`
        (0 before the start). `fit` adds the `AlignmentRamp` callback that sets it.
      formulation: "alternating" (Algorithm 1's three updates) or "single" (one pass; see the module doc).
      disentangler_lr_mult, disentangler_momentum: learning-rate multiplier and momentum (None: the main
        optimizer's) of the default disentangler optimizer, the copy of `optimizer` that makes update 3.
      discriminator_spectral_norm: spectral-normalise c_i's kernels (bounds its logits' slope in z).
      discriminator_steps: updates of c_i per step (the extra ones on the step's features, stop-gradient,
        L_BC only, moving w_i alone).
      mine_ema: rate of MINE's moving average for the bias-corrected gradient of Eq. 9 (0 = the plain DV
        gradient); applies to T's update and to the disentanglers'.
      probe_every: every N steps, log the norm of each term's (weighted) gradient on the encoder as
        gnorm_ce, gnorm_bc, gnorm_adv, gnorm_ent (one extra forward and four backward passes; 0 = off).
      disentangled_dim: width of z_s and z_i; None = the encoder's feature width D.
      discriminator_units, mine_units, reconstructor_units: hidden widths of c_i, T and r.

    Use: `model.compile(optimizer=keras.optimizers.SGD(...))` (optionally `disentangler_optimizer=`,
    default a copy of `optimizer`, and `mine_optimizer=`, default Adam(1e-4)), then `model.fit(ds)` on a
    tf.data.Dataset of (float32 images [B, H, W, C] in [0, 1], int labels [B]).
    """

    T_SHUFFLE, DISENTANGLER_SHUFFLE = T_SHUFFLE, DISENTANGLER_SHUFFLE

    def __init__(self, encoder, num_classes: int, lambda_mi: float = 0.0, lambda_rec: float = 0.0,
                 lambda_adv: float = 0.0, lambda_ent: float = 0.0, bc_encoder_weight: float = 0.0,
                 ce_adv_weight: float = 1.0, alignment: str = "confusion", alignment_ramp: str = "none",
                 alignment_ramp_start: int = 0, formulation: str = "alternating",
                 disentangler_lr_mult: float = 1.0, disentangler_momentum: Optional[float] = None,
                 discriminator_spectral_norm: bool = False, discriminator_steps: int = 1,
                 mine_ema: float = 0.0, probe_every: int = 25, disentangled_dim=None,
                 discriminator_units: Sequence[int] = (256,), mine_units: Sequence[int] = (256, 256),
                 reconstructor_units: Sequence[int] = (512,), **kwargs):
        for name, value in (("lambda_mi", lambda_mi), ("lambda_rec", lambda_rec), ("lambda_adv", lambda_adv),
                            ("lambda_ent", lambda_ent), ("bc_encoder_weight", bc_encoder_weight),
                            ("disentangler_lr_mult", disentangler_lr_mult), ("probe_every", probe_every),
                            ("alignment_ramp_start", alignment_ramp_start)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        checks = [("ce_adv_weight", 0 <= ce_adv_weight <= 1, "in [0, 1]"),
                  ("alignment", alignment in ALIGNMENT_FORMS, f"one of {ALIGNMENT_FORMS}"),
                  ("alignment_ramp", alignment_ramp in RAMPS, f"one of {RAMPS}"),
                  ("formulation", formulation in FORMULATIONS, f"one of {FORMULATIONS}"),
                  ("disentangler_momentum", disentangler_momentum is None or 0 <= disentangler_momentum < 1,
                   "None or in [0, 1)"),
                  ("discriminator_steps", int(discriminator_steps) >= 1, ">= 1"),
                  ("mine_ema", 0 <= mine_ema < 1, "in [0, 1)")]
        for name, ok, want in checks:
            if not ok:
                raise ValueError(f"{name} must be {want}, got {locals()[name]!r}")
        self.lambda_mi, self.lambda_rec = float(lambda_mi), float(lambda_rec)
        self.lambda_adv, self.lambda_ent = float(lambda_adv), float(lambda_ent)
        self.bc_encoder_weight, self.ce_adv_weight = float(bc_encoder_weight), float(ce_adv_weight)
        self.alignment, self.alignment_ramp = alignment, alignment_ramp
        self.alignment_ramp_start, self.formulation = int(alignment_ramp_start), formulation
        self.disentangler_lr_mult = float(disentangler_lr_mult)
        self.disentangler_momentum = None if disentangler_momentum is None else float(disentangler_momentum)
        self.discriminator_spectral_norm = bool(discriminator_spectral_norm)
        self.discriminator_steps, self.mine_ema = int(discriminator_steps), float(mine_ema)
        self.probe_every = int(probe_every)
        self.disentangled_dim = disentangled_dim
        self.discriminator_units = tuple(discriminator_units)
        self.mine_units = tuple(mine_units)
        self.reconstructor_units = tuple(reconstructor_units)
        self.train_metric_names = ("loss", "ce", "bc", "adv", "ent", "mi", "rec", "acc", "adv_acc", "dom_acc",
                                   "dom_acc_s", "zs_norm", "ramp") + \
            (tuple(f"gnorm_{t}" for t in diagnostics.PROBED_TERMS) if self.probe_every else ())
        super().__init__(encoder, num_classes, **kwargs)

    # ------------------------------------------------------------------ modules

    def make_modules(self):
        # The alignment ramp's current factor (set by `AlignmentRamp`); MINE's running mean of E[exp T].
        self.ramp = self.add_weight(shape=(), initializer="ones", trainable=False, name="alignment_ramp")
        self.mine_average = self.add_weight(shape=(), initializer="ones", trainable=False, name="mine_average",
                                            aggregation="only_first_replica")
        # d_s, d_i, T and r need the feature width D, known only once the encoder has run: see build_modules.
        self.c_s = Classifier(**head_kwargs(self), name="c_s")
        self.c_i = DomainDiscriminator(self.discriminator_units, spectral_norm=self.discriminator_spectral_norm,
                                       name="c_i")

    def build_modules(self, input_shape):
        z = self.features(tf.zeros((1,) + tuple(input_shape[1:])))
        width = int(z.shape[-1])
        dim = int(self.disentangled_dim or width)
        self.d_s = Disentangler(dim, name="d_s")
        self.d_i = Disentangler(dim, name="d_i")
        self.mine = MineStatistics(self.mine_units, name="mine")
        self.reconstructor = Reconstructor(width, self.reconstructor_units, name="reconstructor")
        z_s, z_i = self.d_s(z), self.d_i(z)
        self.c_s(z_s)
        self.c_i(z_i)
        self.mine((z_s, z_i))
        self.reconstructor((z_s, z_i))

    def call(self, images, training=False):
        """Inference path g -> d_s -> c_s: images [B, H, W, C] in [0, 1] -> logits [B, K]."""
        return self.c_s(self.d_s(self.features(images, training=training)), training=training)

    def parameter_groups(self) -> Dict[str, list]:
        """The paper's parameter names -> variables."""
        return {"theta": self.encoder.trainable_variables, "phi_s": self.d_s.trainable_variables,
                "phi_i": self.d_i.trainable_variables, "w_s": self.c_s.trainable_variables,
                "w_i": self.c_i.trainable_variables, "psi": self.mine.trainable_variables,
                "theta_rec": self.reconstructor.trainable_variables}

    def classifier_variables(self):
        return variables_of(self.encoder, self.d_s, self.d_i, self.c_s, self.c_i)

    def disentangler_variables(self):
        return variables_of(self.encoder, self.d_s, self.d_i, self.reconstructor)

    def compile(self, optimizer="sgd", disentangler_optimizer=None, mine_optimizer=None, **kwargs):
        """`optimizer` updates tape 1 (classifiers), `disentangler_optimizer` tape 3 (default: a copy of
        `optimizer`, same schedule times `disentangler_lr_mult`, momentum `disentangler_momentum`),
        `mine_optimizer` MINE's T (default Adam(1e-4)). Weight decay is applied once per step: the
        disentangler optimizer does not decay the variables `optimizer` also updates."""
        optimizer = keras.optimizers.get(optimizer)
        self.disentangler_optimizer = (keras.optimizers.get(disentangler_optimizer) if disentangler_optimizer
                                       else self.default_disentangler_optimizer(optimizer))
        self.mine_optimizer = keras.optimizers.get(mine_optimizer) if mine_optimizer else \
            keras.optimizers.Adam(1e-4)
        # The extra c_i updates (discriminator_steps > 1) have their own copy of `optimizer`, whose schedule
        # reads its step count divided by their number, so that it follows the main schedule.
        extra = self.discriminator_steps - 1
        self.discriminator_optimizer = optimizer_copy(optimizer, 1.0, None, step_divisor=extra) \
            if extra else None
        super().compile(optimizer=optimizer, **kwargs)
        self._compile_args.disentangler_optimizer = self.disentangler_optimizer
        self._compile_args.mine_optimizer = self.mine_optimizer

    def default_disentangler_optimizer(self, optimizer):
        """A copy of `optimizer` with the learning rate scaled by `disentangler_lr_mult` and, if set, the
        momentum `disentangler_momentum`."""
        return optimizer_copy(optimizer, self.disentangler_lr_mult, self.disentangler_momentum)

    def optimizer_groups(self):
        # `optimizer` is built on every trainable variable, as Keras' own loading code expects.
        groups = [(self.optimizer, self.trainable_variables),
                  (self.disentangler_optimizer, self.disentangler_variables()),
                  (self.mine_optimizer, self.mine.trainable_variables)]
        if getattr(self, "discriminator_optimizer", None) is not None:
            groups.append((self.discriminator_optimizer, self.c_i.trainable_variables))
        return groups

    def build_optimizers(self) -> None:
        # Keras decays every variable an optimizer applies to: g, d_s, d_i are in both `optimizer` and the
        # disentangler optimizer, so the latter must not decay them (only r is decayed by it).
        opt = self.disentangler_optimizer
        if not opt.built and getattr(opt, "weight_decay", None):
            opt.exclude_from_weight_decay(var_list=variables_of(self.encoder, self.d_s, self.d_i))
        super().build_optimizers()

    # ------------------------------------------------------------------ the loss terms

    def mine_estimate(self, z_s, z_i, shuffle: int = T_SHUFFLE, frozen: bool = False):
        """Eq. 9 on the global batch: joint pairs (z_s^j, z_i^j) vs. shuffled pairs (z_s^j, z_i^m).

        z_s, z_i: this replica's [2n, D], natural then adversarial halves. Returns (bound, objective, mean_exp):
        the DV bound (scalar), the scalar to differentiate (the bound, or with `mine_ema` its bias-corrected
        surrogate: same value), and mean(exp T(marginal)) for the moving average. `frozen`: T's weights
        behind a stop-gradient (the disentanglers' side in the single formulation).
        """
        z_s, z_i = gather_global_batch(z_s), gather_global_batch(z_i)
        step = self.optimizer.iterations if getattr(self, "optimizer", None) is not None else 0
        seed = tf.stack([tf.cast(step, tf.int32), tf.constant(shuffle, tf.int32)])
        order = tf.argsort(tf.random.stateless_uniform(tf.shape(z_i)[:1], seed=seed))
        t = self.mine.call_frozen if frozen else self.mine
        joint, marginal = t((z_s, z_i)), t((z_s, tf.gather(z_i, order)))
        bound = losses.mine_lower_bound(joint, marginal)
        objective = losses.mine_lower_bound(joint, marginal, self.mine_average) if self.mine_ema else bound
        return bound, objective, tf.exp(losses.marginal_log_mean_exp(tf.stop_gradient(marginal)))

    def update_mine_average(self, mean_exp) -> None:
        """m <- (1 - rate) m + rate * mean(exp T(marginal)) (MINE's moving average), if `mine_ema`."""
        if self.mine_ema:
            self.mine_average.assign((1.0 - self.mine_ema) * self.mine_average + self.mine_ema * mean_exp)

    def representations(self, x_all, training=True, encoder_grad_i=1.0):
        """Line 5: z = g(x_all) [2n, D], z_s = d_s(z) and z_i = d_i(z) [2n, D_s], for x_all = [x; x'].
        `encoder_grad_i` scales the gradient that reaches the encoder through z_i (see `scale_gradient`)."""
        z = self.features(x_all, training=training)
        return z, self.d_s(z), self.d_i(scale_gradient(z, encoder_grad_i))

    def bc_encoder_scale(self):
        """The weight of L_BC's gradient into the encoder now: bc_encoder_weight, times the ramp if any."""
        if self.alignment_ramp == "none" or self.bc_encoder_weight == 0:
            return self.bc_encoder_weight
        return self.bc_encoder_weight * self.ramp

    def adv_weight(self):
        """The weight of L_ADV in Eq. 11 now: lambda_adv, times the ramp if any."""
        return self.lambda_adv if self.alignment_ramp == "none" else self.lambda_adv * self.ramp

    def classifier_terms(self, z_s, z_i, y_all, n, training=True):
        """The classifiers' terms (update 1) on the representations z_s, z_i [2n, D_s] of [x; x'] (2n images):
        Eq. 4 and Eq. 6, plus the diagnostics (c_i's accuracy on z_i and on z_s, the mean norm of z_s)."""
        logits = self.c_s(z_s, training=training)
        alpha = self.ce_adv_weight
        ce = ((1.0 - alpha) * losses.classification_loss(y_all[:n], logits[:n])
              + alpha * losses.classification_loss(y_all[n:], logits[n:]))
        # Eq. 6 on {z_i, z_s}: c_i learns natural (first n) vs adversarial; sg(z_s): L_BC does not move d_s.
        dom = self.c_i(tf.concat([z_i, tf.stop_gradient(z_s)], 0), training=training)
        dom_i, dom_s = dom[:2 * n], dom[2 * n:]
        bc = 0.5 * (losses.domain_loss(dom_i[:n], dom_i[n:]) + losses.domain_loss(dom_s[:n], dom_s[n:]))
        is_natural = tf.concat([tf.ones([n], tf.bool), tf.zeros([n], tf.bool)], 0)

        def domain_accuracy(d):
            return tf.reduce_mean(tf.cast(tf.equal(d > 0, is_natural), tf.float32))
        return {"ce": ce, "bc": bc, "logits": logits, "dom_acc": domain_accuracy(dom_i),
                "dom_acc_s": domain_accuracy(dom_s), "zs_norm": tf.reduce_mean(tf.norm(z_s, axis=-1))}

    def disentangler_terms(self, z, z_s, z_i, n, frozen: bool = False, with_mi_rec: bool = True):
        """Update 3's terms on representations z [2n, D], z_s, z_i of [x; x']: Eqs. 7, 8, 9 (disentanglers'
        side) and 10, against the current (just updated) c_i, c_s and T. `frozen`: c_i, c_s and T are called
        with their weights behind a stop-gradient (the single formulation, where every variable is in the
        one gradient); in the alternating form they are simply not in update 3's variables."""
        c_i = self.c_i.call_frozen if frozen else self.c_i
        c_s = self.c_s.call_frozen if frozen else (lambda h: self.c_s(h, training=False))
        dom_s = c_i(z_s)
        terms = {
            "adv": losses.alignment_loss(dom_s[:n], dom_s[n:], self.alignment),   # Eq. 7: d_s fools c_i*
            "ent": losses.entropy_loss(c_s(z_i)),                                # Eq. 8: c_s* cannot classify z_i
        }
        # Eqs. 9 and 10 move the disentanglers (and r), not the encoder: they see d_s(sg(z)), d_i(sg(z)).
        terms["mi"] = terms["mi_objective"] = terms["rec"] = tf.constant(0.0)
        if with_mi_rec and (self.lambda_mi or self.lambda_rec):
            z_fixed = tf.stop_gradient(z)
            zs_d, zi_d = self.d_s(z_fixed), self.d_i(z_fixed)
            if self.lambda_mi:
                terms["mi"], terms["mi_objective"], _ = self.mine_estimate(zs_d, zi_d, shuffle=DISENTANGLER_SHUFFLE,
                                                                           frozen=frozen)
            if self.lambda_rec:
                terms["rec"] = losses.reconstruction_loss(self.reconstructor((zs_d, zi_d)), z_fixed)
        return terms

    def disentangler_objective(self, t):
        """Eq. 11, the disentanglers' objective, from `disentangler_terms`' output:
        lambda_adv * ramp * L_ADV + lambda_ent * L_ENT + lambda_mi * MI + lambda_rec * L_REC."""
        return (self.adv_weight() * t["adv"] + self.lambda_ent * t["ent"] + self.lambda_mi * t["mi_objective"]
                + self.lambda_rec * t["rec"])

    def folds_d_s(self) -> bool:
        """Whether `inference_fn` folds d_s into c_s: d_s must be one affine layer (no activation)."""
        return len(self.d_s.dense) == 1 and self.d_s.dense[0].activation in (None, keras.activations.linear)

    def inference_layers(self):
        return [self.encoder, self.d_s, self.c_s]

    def attack_path_layers(self):
        """g and c_s when d_s is folded into c_s (`inference_fn`), else g, d_s, c_s."""
        return [self.encoder, self.c_s] if self.folds_d_s() else self.inference_layers()

    def auxiliary_layers(self):
        return {"d_i": self.d_i, "c_i": self.c_i, "mine": self.mine, "reconstructor": self.reconstructor}

    def inference_fn(self):
        """The inference path for attacks, images -> logits, with d_s folded into c_s's first dense layer:
        since d_s is affine (linear Dense), c_s's first layer sees (z W_s + b_s) W_0 + b_0 = z W + b with
        W = W_s W_0 [D, units_0] and b = b_s W_0 + b_0, computed here once per attack. Each PGD step then costs
        what a baseline's does (no D x D product per step). The same function as `call(training=False)` up to
        float32 rounding; with a non-linear d_s it is `call` itself."""
        if not self.folds_d_s():
            return super().inference_fn()
        ds, first = self.d_s.dense[0], self.c_s.dense[0]
        w = tf.matmul(ds.kernel, first.kernel)
        b = tf.linalg.matvec(first.kernel, ds.bias, transpose_a=True) + first.bias

        def logits(images):
            h = first.activation(tf.matmul(self.features(images, training=False), w) + b)
            return self.c_s.call_from(h, 1, training=False)
        return logits

    # ------------------------------------------------------------------ Algorithm 1

    def train_step(self, data):
        x, y = _split_data(data)
        n = tf.shape(y)[0]
        x_adv = self.attack(x, y)                                   # line 4: PGD on g -> d_s -> c_s (Eq. 2)
        x_all, y_all = tf.concat([x, x_adv], 0), tf.concat([y, y], 0)
        step = self.alternating_step if self.formulation == "alternating" else self.single_step
        cls, dis, mi = step(x_all, y_all, n)
        values = dict(loss=cls["ce"] + cls["bc"] + self.disentangler_objective(dis), ce=cls["ce"], bc=cls["bc"],
                      adv=dis["adv"], ent=dis["ent"], mi=mi, rec=dis["rec"],
                      acc=self.accuracy(y, cls["logits"][:n]), adv_acc=self.accuracy(y, cls["logits"][n:]),
                      dom_acc=cls["dom_acc"], dom_acc_s=cls["dom_acc_s"], zs_norm=cls["zs_norm"],
                      ramp=self.ramp if self.alignment_ramp != "none" else tf.constant(1.0))
        if self.probe_every:
            self.probe(x_all, y_all, n)
        return self.record(**values)

    def alternating_step(self, x_all, y_all, n):
        """Algorithm 1's three updates (see the module doc). Returns (classifier terms, Eq. 11 terms, MI)."""
        with tf.GradientTape() as tape:
            z, z_s, z_i = self.representations(x_all, encoder_grad_i=self.bc_encoder_scale())   # line 5
            cls = self.classifier_terms(z_s, z_i, y_all, n)                                     # line 6
            classifier_loss = cls["ce"] + cls["bc"]
        self.minimize(tape, classifier_loss, self.classifier_variables(), self.optimizer)
        self.extra_discriminator_steps(tf.stop_gradient(z_s), tf.stop_gradient(z_i), n)

        with tf.GradientTape() as tape:                             # line 8: T maximises Eq. 9
            mi, mi_objective, mean_exp = self.mine_estimate(tf.stop_gradient(z_s), tf.stop_gradient(z_i),
                                                            shuffle=T_SHUFFLE)
            mine_loss = -mi_objective
        self.minimize(tape, mine_loss, self.mine.trainable_variables, self.mine_optimizer)
        self.update_mine_average(mean_exp)

        if not self.has_disentangler_update():  # Eq. 11 has only zero weights: its values are logged only
            return cls, self.disentangler_terms(*(tf.stop_gradient(t) for t in (z, z_s, z_i)), n), mi
        # Lines 7-9 see the representations again, through the g, d_s, d_i that line 6 just moved.
        with tf.GradientTape() as tape:                             # lines 7-9: Eq. 11
            dis = self.disentangler_terms(*self.representations(x_all), n)
            disentangler_loss = self.disentangler_objective(dis)
        self.minimize(tape, disentangler_loss, self.disentangler_variables(), self.disentangler_optimizer)
        return cls, dis, mi

    def has_disentangler_update(self) -> bool:
        """Whether Eq. 11 has a non-zero weight. If not, update 3 would apply zero gradients (no change to any
        weight or momentum), so the alternating step skips its forward and backward passes."""
        return any((self.lambda_adv, self.lambda_ent, self.lambda_mi, self.lambda_rec))

    def single_step(self, x_all, y_all, n):
        """The single formulation's step (`single_pass.single_step`)."""
        return single_pass.single_step(self, x_all, y_all, n)

    def extra_discriminator_steps(self, z_s, z_i, n) -> None:
        """discriminator_steps - 1 more updates of c_i alone on L_BC (Eq. 6) with fixed features [2n, D_s]."""
        for _ in range(self.discriminator_steps - 1):
            with tf.GradientTape() as tape:
                dom = self.c_i(tf.concat([z_i, z_s], 0), training=True)
                dom_i, dom_s = dom[:2 * n], dom[2 * n:]
                bc = 0.5 * (losses.domain_loss(dom_i[:n], dom_i[n:]) + losses.domain_loss(dom_s[:n], dom_s[n:]))
            self.minimize(tape, bc, self.c_i.trainable_variables, self.discriminator_optimizer)

    def probe(self, x_all, y_all, n) -> None:
        """Every `probe_every` steps, the encoder-gradient norm of each term (`diagnostics.probe`)."""
        diagnostics.probe(self, x_all, y_all, n)

    # ------------------------------------------------------------------ fit

    def fit(self, x=None, y=None, *args, callbacks=None, epochs=1, **kwargs):
        """keras.Model.fit; with alignment_ramp="dann" it adds the `AlignmentRamp` callback (over this fit's
        epochs) unless one is given."""
        callbacks = list(callbacks or [])
        if self.alignment_ramp != "none" and not any(isinstance(c, AlignmentRamp) for c in callbacks):
            callbacks.append(AlignmentRamp(self.alignment_ramp_start, epochs))
        return super().fit(x, y, *args, callbacks=callbacks, epochs=epochs, **kwargs)

    # ------------------------------------------------------------------ config

    def get_config(self):
        return {**super().get_config(), "lambda_mi": self.lambda_mi, "lambda_rec": self.lambda_rec,
                "lambda_adv": self.lambda_adv, "lambda_ent": self.lambda_ent,
                "bc_encoder_weight": self.bc_encoder_weight, "ce_adv_weight": self.ce_adv_weight,
                "alignment": self.alignment, "alignment_ramp": self.alignment_ramp,
                "alignment_ramp_start": self.alignment_ramp_start, "formulation": self.formulation,
                "disentangler_lr_mult": self.disentangler_lr_mult,
                "disentangler_momentum": self.disentangler_momentum,
                "discriminator_spectral_norm": self.discriminator_spectral_norm,
                "discriminator_steps": self.discriminator_steps, "mine_ema": self.mine_ema,
                "probe_every": self.probe_every, "disentangled_dim": self.disentangled_dim,
                "discriminator_units": list(self.discriminator_units), "mine_units": list(self.mine_units),
                "reconstructor_units": list(self.reconstructor_units)}
