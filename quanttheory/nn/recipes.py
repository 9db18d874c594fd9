r"""One quantization-aware-training recipe per paper, each deviation from the paper stated here.

A :class:`Recipe` names the site kinds (:mod:`quanttheory.nn.layers`) for weights and for the
activations feeding each quantized layer, the optimiser settings of the quantizer parameters and
QN's temperature schedule. :class:`Quantizers` turns a recipe, a bit-width and a float checkpoint
into the ``wq``/``aq`` hooks a model calls (the interface of :mod:`quanttheory.nn.cnn`; the MLP of
:mod:`quanttheory.nn.qat` has the same one). Every recipe is trained by the same loop
(:func:`quanttheory.nn.qat.train`): SGD with momentum and cosine decay from a converged float
checkpoint, first and last layers in float.

Deviations shared by every recipe (small networks on MNIST-1D / MNIST-5k instead of ResNets on
ImageNet): a few epochs of fine-tuning instead of 10⁵–10⁶ steps; one learning rate per recipe
picked on a validation split; no batch norm in the MLP, so APoT's normalised weights are
multiplied back by the layer's initial std (frozen).

Level sets compared. At b bits every signed set except DSQ's has 2^b − 1 levels (2 bits:
ternary {−α, 0, α}); DSQ's grid has 2^b (2 bits: four levels, no zero). Activations have 2^b
levels everywhere. The ``dsq-ste`` recipe trains DSQ's own grid with the straight-through
estimator, so "DSQ vs STE" is compared on identical level sets; the ternary ``uniform`` baseline
is reported beside it to show the level-count confound.

References
----------
.. [1] Gong et al. "Differentiable Soft Quantization". ICCV 2019, arXiv:1908.05033.
.. [2] Li, Dong, Wang. "Additive Powers-of-Two Quantization". ICLR 2020, arXiv:1909.13144.
.. [3] Yang et al. "Quantization Networks". CVPR 2019, arXiv:1911.09464.
.. [4] Esser et al. "Learned Step Size Quantization". ICLR 2020, arXiv:1902.08153.
.. [5] Li et al. "MQBench: Towards Reproducible and Deployable Model Quantization Benchmark".
   NeurIPS 2021 Datasets and Benchmarks, arXiv:2111.03759.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import layers

#: APoT's α: its own learning rate and weight decay (official code: lr 0.01–0.1, wd 2e-5–1e-4).
APOT_ALPHA_LR, APOT_ALPHA_WD = 0.01, 1e-4
#: QN's temperature T = c·(epoch + 1) (epochs from 0); with our budgets it reaches the hundreds.
QN_RATE = 40.0


@dataclass(frozen=True)
class Recipe:
    """A paper's QAT recipe.

    Attributes
    ----------
    key : str
        Short id used in grids and caches.
    label : str
        The method's name as the paper (or the baseline's paper) writes it.
    weights, acts : str
        Site kinds of the quantized layers' weights and input activations (``"float"``:
        not quantized, e.g. QN's weights-only setting).
    lr_scale : dict
        Quantizer-parameter name → multiplier of the weights' learning rate (default 1).
    lr_abs : dict
        Quantizer-parameter name → its own learning rate (overrides ``lr_scale``; cosine-decayed too).
    weight_decay : dict
        Quantizer-parameter name → weight decay (default 0).
    qn_grad : {"exact", "released"}
        QN's weight backward (:func:`quanttheory.nn.layers.site_vjp`).
    qn_rate : float
        c of QN's temperature T = c·(epoch + 1); 0 for other recipes.
    scaled : tuple of str
        Quantizer parameters whose gradient gets LSQ's scale 1/√(n·Q_p) (LSQ's step always does).
    deviations : tuple of str
        What differs from the paper's recipe (beyond the shared deviations of the module docstring).
    """

    key: str
    label: str
    weights: str
    acts: str
    lr_scale: dict = field(default_factory=dict)
    lr_abs: dict = field(default_factory=dict)
    weight_decay: dict = field(default_factory=dict)
    qn_grad: str = "exact"
    qn_rate: float = 0.0
    scaled: tuple[str, ...] = ()
    deviations: tuple[str, ...] = ()

    def temperature(self, epoch):
        """QN's T at ``epoch`` (from 0); 1 for recipes without a temperature."""
        return self.qn_rate * (epoch + 1) if self.qn_rate else 1.0


#: Weight decay of the network's own weights; DSQ's l and u get the same (paper: learned with the net).
WEIGHT_DECAY = 1e-4

#: DSQ's l, u get LSQ's gradient scale: unscaled, SGD at the weights' learning rate pushed l above
#: u within one epoch on MNIST-1D (the gradient sums over every weight of the layer).
RANGE = ("lower", "upper")
RANGE_NOTE = "l, u gradients scaled by LSQ's 1/sqrt(n·Q_p) (unscaled SGD diverged here)"

#: QN's α, β get the same scale: unscaled, β of the activations collapsed to the floor in one epoch.
QN_SCALED = ("alpha", "beta")

RECIPES = {r.key: r for r in (
    Recipe("uniform", "Uniform (fixed MSE clip, STE)", "uniform", "uniform",
           deviations=("clip chosen once, at the float checkpoint, by MSE; not learned",)),
    Recipe("lsq", "LSQ (Esser et al. 2020)", "lsq", "lsq",
           deviations=("step size uses the weights' learning rate and no weight decay",)),
    Recipe("dsq", "DSQ (Gong et al. 2019)", "dsq", "dsq",
           weight_decay={"lower": WEIGHT_DECAY, "upper": WEIGHT_DECAY}, scaled=RANGE,
           deviations=("α initialised at 0.2 and clamped to (0, 0.5] (implementations; the paper "
                       "gives no numbers)", "l, u start at the MSE-optimal range of DSQ's grid",
                       RANGE_NOTE)),
    Recipe("dsq-mq", "DSQ, MQBench variant (α = 0.4, min/max range)", "dsq_stat", "dsq_stat",
           deviations=("MQBench [5] fixes α = 0.4 and takes l, u from min/max observers "
                       "(weights: current min/max; activations: EMA) [recalled]",)),
    Recipe("dsq-ste", "STE on DSQ's grid (ablation)", "dsq_ste", "dsq_ste",
           weight_decay={"lower": WEIGHT_DECAY, "upper": WEIGHT_DECAY}, scaled=RANGE,
           deviations=("not a paper's method: DSQ's forward and range learning, STE backward",)),
    Recipe("apot", "APoT (Li et al. 2020)", "apot", "apot",
           lr_abs={"alpha": APOT_ALPHA_LR}, weight_decay={"alpha": APOT_ALPHA_WD},
           deviations=("normalised weights are multiplied by the layer's initial std (no batch norm)",)),
    Recipe("uniform-rcf", "Uniform with APoT's recipe (ablation)", "uniform_rcf", "uniform_rcf",
           lr_abs={"alpha": APOT_ALPHA_LR}, weight_decay={"alpha": APOT_ALPHA_WD},
           deviations=("APoT's recipe (normalisation, learned clip) with uniform levels: the same clip rule",)),
    Recipe("qn", "QN (Yang et al. 2019), W/A", "qn", "qn", qn_grad="released", qn_rate=QN_RATE, scaled=QN_SCALED,
           deviations=("biases from k-means for every level set (released code; the paper: ±0.05 "
                       "for ternary)", "the paper reports W/A only for 1-bit weights")),
    Recipe("qn-w-exact", "QN, weights only, exact sigmoid slope (ablation)", "qn", "float", qn_grad="exact",
           qn_rate=QN_RATE, scaled=QN_SCALED, deviations=("weight backward uses the exact slope at T",)),
    Recipe("qn-w", "QN (Yang et al. 2019), weights only", "qn", "float", qn_grad="released",
           qn_rate=QN_RATE, scaled=QN_SCALED, deviations=("biases from k-means (released code)",)),
    Recipe("uniform-w", "Uniform, weights only (fixed MSE clip, STE)", "uniform", "float"),
)}


def get(key):
    """The recipe named ``key``; ValueError naming the valid keys otherwise."""
    if key not in RECIPES:
        raise ValueError(f"recipe must be one of {tuple(RECIPES)}; got {key!r}")
    return RECIPES[key]


class Quantizers:
    """The quantizer sites of one network under one recipe: hooks, parameter groups, projection.

    Learnable site parameters live in the network's parameter dict as 0-d arrays named
    ``"<layer>.w.<name>"`` and ``"<layer>.a.<name>"``; frozen ones (fixed clips, QN biases, APoT
    scales, running ranges) are held here.
    """

    def __init__(self, recipe, bits, frozen):
        self.recipe, self.bits, self.frozen = recipe, int(bits), dict(frozen)

    def _kind(self, site):
        return self.recipe.weights if site.endswith(".w") else self.recipe.acts

    def _hook(self, params, site, x, mode, temperature, train):
        kind, signed = self._kind(site), site.endswith(".w")
        if kind == "float":
            return x, lambda g: (g, {})
        if train:
            self.frozen[site] = layers.observe(kind, x, self.frozen[site], signed=signed)
        p = self.site_params(params, site)
        learn = [n for n in p if f"{site}.{n}" in params]
        q = layers.quantize(kind, self.bits, x, p, signed=signed, mode=mode, temperature=temperature)
        q_ste = q / p["scale"] if "scale" in p else q  # APoT weights: the normalised quantized weights

        def vjp(g):
            gx, gp = layers.site_vjp(kind, self.bits, x, p, g, signed=signed, learn=learn,
                                     temperature=temperature, qn_grad=self.recipe.qn_grad,
                                     per_sample=1 if signed else x.shape[0], scaled=self.recipe.scaled,
                                     q=q_ste if mode == "train" else None)
            return gx, {f"{site}.{n}": np.asarray(v) for n, v in gp.items()}
        return q, vjp

    def site_params(self, params, site):
        """One site's parameters: its learnable entries of ``params`` and its frozen ones."""
        learn = {k.rsplit(".", 1)[1]: float(v) for k, v in params.items() if k.startswith(site + ".")}
        return learn | self.frozen[site]

    def hooks(self, params, *, mode="train", temperature=1.0, train=False):
        """``(wq, aq)`` for a model's forward; ``train`` lets statistics-based sites observe."""
        def wq(layer, w):
            return self._hook(params, f"{layer}.w", w, mode, temperature, train)

        def aq(layer, a):
            return self._hook(params, f"{layer}.a", a, mode, temperature, train)
        return wq, aq

    def groups(self, name):
        """``(lr multiplier or None, absolute lr or None, weight decay)`` of a parameter name."""
        site_param = name.count(".") == 2 and name.split(".")[1] in ("w", "a")
        if not site_param:
            return 1.0, None, WEIGHT_DECAY
        q = name.rsplit(".", 1)[1]
        r = self.recipe
        return r.lr_scale.get(q, 1.0), r.lr_abs.get(q), r.weight_decay.get(q, 0.0)

    def project(self, params):
        """Apply every site's validity constraints (returns a new dict)."""
        out = dict(params)
        for site in self.frozen:
            names = [k for k in params if k.startswith(site + ".")]
            if not names:
                continue
            learn = {k.rsplit(".", 1)[1]: float(params[k]) for k in names}
            for n, v in layers.project_site(self._kind(site), learn).items():
                out[f"{site}.{n}"] = np.asarray(v, dtype=np.float64)
        return out


def calibrate(recipe, bits, model, params, state, x):
    """Initialise every site from the float checkpoint: ``(Quantizers, learnable site params)``.

    Weight sites see the layer's float weights; activation sites the float activations the
    checkpoint produces on the calibration batch ``x``.
    """
    seen = {}

    def record_w(layer, w):
        seen[f"{layer}.w"] = w
        return w, lambda g: (g, {})

    def record_a(layer, a):
        seen[f"{layer}.a"] = a
        return a, lambda g: (g, {})
    model.forward(params, state, x, train=False, wq=record_w, aq=record_a)
    frozen, learn = {}, {}
    for site, tensor in seen.items():
        kind = recipe.weights if site.endswith(".w") else recipe.acts
        lv, fv = layers.init_site(kind, bits, tensor, signed=site.endswith(".w"))
        frozen[site] = fv
        learn |= {f"{site}.{n}": np.asarray(v, dtype=np.float64) for n, v in lv.items()}
    return Quantizers(recipe, bits, frozen), learn
