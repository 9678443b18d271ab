"""The paper's loss terms, one function per equation, on tensors (no variables, no routing).

Which parameters each term may move (its superscript in the paper) is decided by the caller
(`methods/drrdn/model.py`): these functions only compute values. All return float32 scalars averaged over
the local batch.
"""

from __future__ import annotations

import tensorflow as tf

from drrdn_tf.config import ALIGNMENT_FORMS


def classification_loss(labels, logits):
    """Eq. 4: cross-entropy of c_s on {z_s, z'_s}. labels int [N], logits [N, K] -> scalar."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def domain_loss(natural_logits, adversarial_logits):
    """Eq. 6: -E[log c_i(natural)] - E[log(1 - c_i(adversarial))], c_i = sigmoid(logit). Logits [N] -> scalar.

    softplus(-l) = -log sigmoid(l) and softplus(l) = -log(1 - sigmoid(l)), both stable for any logit.
    """
    return tf.reduce_mean(tf.nn.softplus(-natural_logits)) + tf.reduce_mean(tf.nn.softplus(adversarial_logits))


def alignment_loss(natural_logits, adversarial_logits, form: str = "confusion"):
    """Eq. 7: d_s's loss against a fixed c_i*; its optimum aligns p(z_s) and p(z'_s) (Proposition 1).

    form="minimax" is Eq. 7 as printed, E[log c_i(z_s)] + E[log(1 - c_i(z'_s))] = -(Eq. 6 on z_s). Because
    d_s moves both z_s and z'_s, it is unbounded below (swapping the two domains wins; docs/design_notes.md
    has what it did to training). form="confusion" (default) is the domain-confusion form, the cross-entropy of c_i on
    z_s and z'_s against the target 1/2: -1/2 E[log c_i + log(1 - c_i)] over both. It is bounded below by
    2 log 2, reached exactly when c_i* = 1/2 everywhere, i.e. at the same fixed point, p(z_s) = p(z'_s).
    form="one_sided" is the GAN generator's form on the adversarial side only, -E[log c_i(z'_s)]: it moves
    z'_s towards what c_i* takes for natural and leaves the natural features where they are (the natural
    logits are not used), as the non-saturating generator loss and AFD do. Its minimum is also reached when
    c_i* cannot tell z'_s from z_s.
    """
    if form == "one_sided":
        return tf.reduce_mean(tf.nn.softplus(-adversarial_logits))
    if form == "minimax":
        return -domain_loss(natural_logits, adversarial_logits)
    if form == "confusion":
        return 0.5 * (domain_loss(natural_logits, adversarial_logits)
                      + domain_loss(adversarial_logits, natural_logits))
    raise ValueError(f"unknown alignment form {form!r}: choose one of {', '.join(ALIGNMENT_FORMS)}")



def entropy_loss(logits):
    """Eq. 8: negative prediction entropy sum_k p_k log p_k of c_s on the class-irrelevant z_i and z'_i,
    averaged over the batch [N, K] -> scalar in [-log K, 0]. Minimising it makes c_s unable to classify z_i.

    (The paper prints c_s(z_i)^T log c_s(z'_i) and calls it "the negative information entropy of c_s on d_i";
    we read the pair as its natural and adversarial halves, as in Eq. 4's c_s({z_s, z'_s}).)
    """
    log_p = tf.nn.log_softmax(logits, axis=-1)
    return tf.reduce_mean(tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1))


def mine_lower_bound(joint_scores, marginal_scores, moving_average=None):
    """Eq. 9: the Donsker-Varadhan bound mean(T(joint)) - log mean(exp T(marginal)). Scores [N] -> scalar.

    log-mean-exp is computed as logsumexp - log N, which cannot overflow. With `moving_average` (a scalar
    tensor m > 0, a running mean of mean(exp T(marginal))), the value is the same but the gradient is MINE's
    bias-corrected one (Belghazi et al. 2018, Sec. 3.2): grad mean(T(joint)) - grad mean(exp T(marginal)) / m,
    i.e. the minibatch denominator of d/dT log mean(exp T) is replaced by its running mean.
    """
    log_mean_exp = marginal_log_mean_exp(marginal_scores)
    bound = tf.reduce_mean(joint_scores) - log_mean_exp
    if moving_average is None:
        return bound
    mean_exp = tf.exp(log_mean_exp)
    correction = (mean_exp - tf.stop_gradient(mean_exp)) / tf.stop_gradient(moving_average)  # value 0
    return tf.reduce_mean(joint_scores) - tf.stop_gradient(log_mean_exp) - correction


def marginal_log_mean_exp(marginal_scores):
    """log mean(exp T(marginal)) of scores [N] -> scalar, as logsumexp - log N."""
    n = tf.cast(tf.shape(marginal_scores)[0], marginal_scores.dtype)
    return tf.reduce_logsumexp(marginal_scores) - tf.math.log(n)


def reconstruction_loss(reconstruction, target):
    """Eq. 10: squared L2 error ||r(z_s, z_i) - z||^2, here per feature (mean over the D features) so that
    lambda_rec does not depend on the encoder's width; [N, D] -> scalar."""
    return tf.reduce_mean(tf.square(reconstruction - target))


def trades_kl(natural_logits, adversarial_logits):
    """TRADES' robust term KL(f(x) || f(x')) per example: logits [N, K] -> [N] (>= 0)."""
    log_p = tf.nn.log_softmax(natural_logits, axis=-1)
    log_q = tf.nn.log_softmax(adversarial_logits, axis=-1)
    return tf.reduce_sum(tf.exp(log_p) * (log_p - log_q), axis=-1)

