"""DRRDN (Yang et al., AAAI 2021): Algorithm 1 as a Keras `train_step`.

Modules (Fig. 1): encoder g (theta), disentanglers d_s (phi_s) and d_i (phi_i), class classifier c_s (w_s),
domain discriminator c_i (w_i), MINE statistics network T (psi), reconstructor r (theta_rec).
Inference (and the PGD that makes x'): g -> d_s -> c_s.

Each loss moves exactly the parameters of its superscript in the paper:
  Eq. 4  L_CE  {theta, phi_s, w_s}     Eq. 6  L_BC  {theta, phi_i, w_i}   Eq. 7  L_ADV {theta, phi_s}
  Eq. 8  L_ENT {theta, phi_i}          Eq. 9  MI    {phi_s, phi_i} (minimised), {psi} (maximised)
  Eq. 10 L_REC {phi_s, phi_i, theta_rec}
One training step makes three updates, each with its own tape and optimizer, in the order of Algorithm 1:
  1. classifiers (line 6): L_CE + L_BC on {theta, phi_s, phi_i, w_s, w_i}        -> `optimizer`
  2. MINE estimate (line 8): T maximises Eq. 9 on fixed (z_s, z_i), {psi}          -> `mine_optimizer`
  3. disentanglers (lines 7-9): L_ADV + L_ENT + l_mi MI + l_rec L_REC on
     {theta, phi_s, phi_i, theta_rec}, against the just-updated c_i*, c_s* and T   -> `disentangler_optimizer`
Update 3 computes z, z_s, z_i afresh, with the g, d_s, d_i that update 1 has just moved.
Routing inside a tape uses stop-gradients: L_BC sees sg(z_s) (it trains c_i on z_s but must not move
d_s); MI and L_REC see d_s(sg(z)), d_i(sg(z)) (they must not move the encoder). c_s and c_i are not in
tape 3's variables, so L_ENT and L_ADV cannot move them. `tests/test_drrdn.py` checks all of this.
"""

from __future__ import annotations

from typing import Dict, Sequence

import keras
import tensorflow as tf

from drrdn_tf import losses
from drrdn_tf.layers import Classifier, Disentangler, DomainDiscriminator, MineStatistics, Reconstructor
from drrdn_tf.methods.base import AdversarialModel, _split_data, head_kwargs, variables_of


@keras.saving.register_keras_serializable(package="drrdn_tf")
class DRRDN(AdversarialModel):
    """Deep Robust Representation Disentanglement Network.

    Args (besides AdversarialModel's encoder, num_classes, eps, step_size, pgd_steps, head):
      lambda_mi, lambda_rec: weights of the MI and reconstruction terms in Eq. 11; 0 switches a term off
        (the paper's DRRDN-MI and DRRDN-REC ablations).
      alignment: "confusion" (default) or "minimax" (Eq. 7 as printed); see `losses.alignment_loss`.
      disentangled_dim: width of z_s and z_i; None = the encoder's feature width D.
      discriminator_units, mine_units, reconstructor_units: hidden widths of c_i, T and r.

    Use: `model.compile(optimizer=keras.optimizers.SGD(...))` (optionally `disentangler_optimizer=`,
    default a copy of `optimizer`, and `mine_optimizer=`, default Adam(1e-4)), then `model.fit(ds)` on a
    tf.data.Dataset of (float32 images [B, H, W, C] in [0, 1], int labels [B]).
    """

    train_metric_names = ("loss", "ce", "bc", "adv", "ent", "mi", "rec", "acc", "adv_acc", "dom_acc")

    def __init__(self, encoder, num_classes: int, lambda_mi: float = 0.1, lambda_rec: float = 0.1,
                 alignment: str = "confusion", disentangled_dim=None, discriminator_units: Sequence[int] = (256,),
                 mine_units: Sequence[int] = (256, 256), reconstructor_units: Sequence[int] = (512,), **kwargs):
        if lambda_mi < 0 or lambda_rec < 0:
            raise ValueError(f"lambda_mi and lambda_rec must be >= 0, got {lambda_mi}, {lambda_rec}")
        if alignment not in ("confusion", "minimax"):
            raise ValueError(f"alignment must be confusion or minimax, got {alignment!r}")
        self.lambda_mi, self.lambda_rec = float(lambda_mi), float(lambda_rec)
        self.alignment = alignment
        self.disentangled_dim = disentangled_dim
        self.discriminator_units = tuple(discriminator_units)
        self.mine_units = tuple(mine_units)
        self.reconstructor_units = tuple(reconstructor_units)
        super().__init__(encoder, num_classes, **kwargs)

    # ------------------------------------------------------------------ modules

    def make_modules(self):
        # d_s, d_i, T and r need the feature width D, known only once the encoder has run: see build_modules.
        self.c_s = Classifier(**head_kwargs(self), name="c_s")
        self.c_i = DomainDiscriminator(self.discriminator_units, name="c_i")

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
        `optimizer`, same schedule), `mine_optimizer` MINE's T (default Adam(1e-4))."""
        optimizer = keras.optimizers.get(optimizer)
        self.disentangler_optimizer = (keras.optimizers.get(disentangler_optimizer) if disentangler_optimizer
                                       else optimizer.__class__.from_config(optimizer.get_config()))
        self.mine_optimizer = keras.optimizers.get(mine_optimizer) if mine_optimizer else \
            keras.optimizers.Adam(1e-4)
        super().compile(optimizer=optimizer, **kwargs)
        self._compile_args.disentangler_optimizer = self.disentangler_optimizer
        self._compile_args.mine_optimizer = self.mine_optimizer

    def optimizer_groups(self):
        # `optimizer` is built on every trainable variable, as Keras' own loading code expects.
        return [(self.optimizer, self.trainable_variables),
                (self.disentangler_optimizer, self.disentangler_variables()),
                (self.mine_optimizer, self.mine.trainable_variables)]

    # ------------------------------------------------------------------ the loss terms

    def mine_estimate(self, z_s, z_i, salt: int = 0):
        """Eq. 9 on the global batch: joint pairs (z_s^j, z_i^j) vs. shuffled pairs (z_s^j, z_i^m).

        z_s, z_i: this replica's [2n, D], natural then adversarial halves. Under tf.distribute they are
        gathered from every replica (and put back in the one-device order: all natural, then all
        adversarial) and the bound is computed on the whole global batch, since its log-mean-exp does not
        split into per-replica parts; the permutation comes from a stateless seed (the step and `salt`).
        So every replica computes the same value, and one or several replicas give the same estimate and
        gradients. Returns a scalar.
        """
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            replicas = ctx.num_replicas_in_sync

            def gather(z):  # [2n, D] per replica -> [2Rn, D]: natural halves of all replicas, then adversarial
                g = ctx.all_gather(z[None], axis=0)                      # [R, 2n, D]
                g = tf.reshape(g, [replicas, 2, -1, tf.shape(z)[-1]])    # [R, 2, n, D]
                return tf.reshape(tf.transpose(g, [1, 0, 2, 3]), [-1, tf.shape(z)[-1]])
            z_s, z_i = gather(z_s), gather(z_i)
        step = self.optimizer.iterations if getattr(self, "optimizer", None) is not None else 0
        seed = tf.stack([tf.cast(step, tf.int32), tf.constant(salt, tf.int32)])
        order = tf.argsort(tf.random.stateless_uniform(tf.shape(z_i)[:1], seed=seed))
        return losses.mine_lower_bound(self.mine((z_s, z_i)), self.mine((z_s, tf.gather(z_i, order))))

    def representations(self, x_all, training=True):
        """Line 5: z = g(x_all) [2n, D], z_s = d_s(z) and z_i = d_i(z) [2n, D_s], for x_all = [x; x']."""
        z = self.features(x_all, training=training)
        return z, self.d_s(z), self.d_i(z)

    def classifier_terms(self, z_s, z_i, y_all, n, training=True):
        """Tape 1's terms on the representations z_s, z_i [2n, D_s] of [x; x'] (2n images): Eq. 4 and Eq. 6,
        plus the diagnostics."""
        logits = self.c_s(z_s, training=training)
        # Eq. 6 on {z_i, z_s}: c_i learns natural (first n) vs adversarial; sg(z_s): L_BC does not move d_s.
        dom_i, dom_s = self.c_i(z_i), self.c_i(tf.stop_gradient(z_s))
        bc = 0.5 * (losses.domain_loss(dom_i[:n], dom_i[n:]) + losses.domain_loss(dom_s[:n], dom_s[n:]))
        is_natural = tf.concat([tf.ones([n], tf.bool), tf.zeros([n], tf.bool)], 0)
        return {"ce": losses.classification_loss(y_all, logits), "bc": bc, "logits": logits,
                "dom_acc": tf.reduce_mean(tf.cast(tf.equal(dom_i > 0, is_natural), tf.float32))}

    def disentangler_terms(self, z, z_s, z_i, n):
        """Tape 3's terms on representations z [2n, D], z_s, z_i of [x; x']: Eqs. 7, 8, 9 (disentanglers'
        side) and 10, against the current (just updated) c_i, c_s and T."""
        dom_s = self.c_i(z_s)
        terms = {
            "adv": losses.alignment_loss(dom_s[:n], dom_s[n:], self.alignment),              # Eq. 7: d_s fools c_i*
            "ent": losses.entropy_loss(self.c_s(z_i, training=False)),       # Eq. 8: c_s* cannot classify z_i
        }
        # Eqs. 9 and 10 move the disentanglers (and r), not the encoder: they see d_s(sg(z)), d_i(sg(z)).
        if self.lambda_mi or self.lambda_rec:
            z_fixed = tf.stop_gradient(z)
            zs_d, zi_d = self.d_s(z_fixed), self.d_i(z_fixed)
            terms["mi"] = self.mine_estimate(zs_d, zi_d, salt=2) if self.lambda_mi else tf.constant(0.0)
            terms["rec"] = losses.reconstruction_loss(self.reconstructor((zs_d, zi_d)), z_fixed) \
                if self.lambda_rec else tf.constant(0.0)
        else:
            terms["mi"] = terms["rec"] = tf.constant(0.0)
        return terms

    def folds_d_s(self) -> bool:
        """Whether `inference_fn` folds d_s into c_s: d_s must be one affine layer (no activation)."""
        return len(self.d_s.dense) == 1 and self.d_s.dense[0].activation in (None, keras.activations.linear)

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

        with tf.GradientTape() as tape:
            z, z_s, z_i = self.representations(x_all)              # line 5
            t1 = self.classifier_terms(z_s, z_i, y_all, n)          # line 6: Eq. 4 + Eq. 6
            loss_1 = t1["ce"] + t1["bc"]
        self.minimize(tape, loss_1, self.classifier_variables(), self.optimizer)

        with tf.GradientTape() as tape:                             # line 8: T maximises Eq. 9
            mi = self.mine_estimate(tf.stop_gradient(z_s), tf.stop_gradient(z_i), salt=1)
            mine_loss = -mi
        self.minimize(tape, mine_loss, self.mine.trainable_variables, self.mine_optimizer)

        # Lines 7-9 see the representations again, through the g, d_s, d_i that line 6 just moved. (Reusing
        # line 5's forward pass for this update, with a persistent tape, saves one encoder forward pass per
        # step, but the demo run then collapsed in 2 of 2 runs once eps reached 0.3: acc -> 0.1, L_BC > 2.)
        with tf.GradientTape() as tape:                             # lines 7-9: Eqs. 7, 8, 9, 10
            t3 = self.disentangler_terms(*self.representations(x_all), n)
            loss_3 = t3["adv"] + t3["ent"] + self.lambda_mi * t3["mi"] + self.lambda_rec * t3["rec"]
        self.minimize(tape, loss_3, self.disentangler_variables(), self.disentangler_optimizer)

        return self.record(loss=loss_1 + loss_3, ce=t1["ce"], bc=t1["bc"], adv=t3["adv"], ent=t3["ent"],
                           mi=mi, rec=t3["rec"], acc=self.accuracy(y, t1["logits"][:n]),
                           adv_acc=self.accuracy(y, t1["logits"][n:]), dom_acc=t1["dom_acc"])

    # ------------------------------------------------------------------ config

    def get_config(self):
        return {**super().get_config(), "lambda_mi": self.lambda_mi, "lambda_rec": self.lambda_rec,
                "alignment": self.alignment,
                "disentangled_dim": self.disentangled_dim,
                "discriminator_units": list(self.discriminator_units), "mine_units": list(self.mine_units),
                "reconstructor_units": list(self.reconstructor_units)}
