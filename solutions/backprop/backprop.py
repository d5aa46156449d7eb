# ruff: noqa: E402, B905, I001  (a notebook as a script: imports sit in the cells that teach them)
# Instructor source for the backprop homework (lecture 3.2, after Andrew Ng's ex4).
#
# ONE file yields, for each language (en, zh):
#   assignments/backprop/<lang>/nn.py           the student module (stubs)
#   assignments/backprop/<lang>/backprop.ipynb  the notebook handout (stubs)
#   assignments/backprop/<lang>/README.md       the release's README
# with `bpgrade release` (see autograder/release/__init__.py for the format in full). In short:
#
# * A "percent" file (jupytext/VS Code style): every `# %%` line starts a cell.
#   `# %% [markdown] lang="zh"` starts a Markdown cell (its lines are `# `-prefixed);
#   `lang` is "en" or "zh" (omit it for text shared by both languages).
# * `role` says where a cell goes:
#     code:     "module"      -> nn.py and the notebook (the graded functions)
#               "module-only" -> nn.py only (its docstring)
#               "notebook"    -> the notebook only (default for code: demos, training)
#               "check"       -> the notebook only, a self-check cell; needs part="<spec part id>"
#     markdown: "notebook" (default) or "readme" (README.md only)
# * `part="<id>"` ties a cell to a part of autograder/homeworks/backprop/spec.toml.
# * Markdown may use {{points:<part>}}, {{title:<part>}}, {{total_points}} and {{parts_table}};
#   they are filled from spec.toml, so the handout never disagrees with the grader.
# * Solution code sits between `### BEGIN SOLUTION` and `### END SOLUTION`. The release replaces
#   each region with a START/END OF YOUR CODE block that raises NotImplementedError. A region
#   opened with `### BEGIN SOLUTION stub=pass` gets `pass` instead (used where a later part of the
#   same function must stay reachable, e.g. the gradient inside nnCostFunction).
#
# The solution with its markers removed is numpy-only and standalone (it never imports bpnet_ref);
# `bpgrade release --solution --out DIR` writes it as nn.py + backprop.ipynb for the instructor.
# Running this file with python3 runs the whole notebook (training included) as a script.

# %% [markdown] role="readme" lang="en"
# # Homework: backpropagation (ex4)
#
# Lecture 3.2 *Backpropagation in neural networks* (Andrew Ng's ex4). Total: {{total_points}} points.
#
# | file | what it is |
# |---|---|
# | `backprop.ipynb` | the handout: the lecture's derivations, your code, a check cell per part, training on real digits |
# | `nn.py` | the same functions as a plain module, if you prefer an editor to Jupyter |
# | `check.py` | runs the public test cases on your work and prints a per-part table |
# | `submit.py` | submits your work to the course server and prints your grade per part |
#
# Submit **either** `nn.py` **or** `backprop.ipynb` (the grader accepts both).
#
# ## What you implement
#
# {{parts_table}}
#
# Write your code between the `START OF YOUR CODE` / `END OF YOUR CODE` lines; do not rename the
# functions or change their signatures. Conventions: labels are `0..K-1` (shape `(m,)` or `(m, 1)`),
# the bias column of every Θ comes first, and parameters are unrolled row by row:
# `np.concatenate([Theta1.ravel(), Theta2.ravel()])`.
#
# ## The grader's rules
#
# {{grader_rules}}
#
# ## Checking your work locally
#
# {{install}}
#
# Then:
#
# ```
# python check.py                    # checks nn.py
# python check.py backprop.ipynb     # checks the notebook
# python check.py nn.py --part nnGrad
# ```
#
# `bpgrade check nn.py` does the same. Your code runs in a separate, sandboxed process on the
# *public* cases only; the grade also uses hidden cases drawn for you, so passing every public case
# is necessary, not sufficient. In the notebook, each part ends with a check cell that checks the
# functions as they are defined in your running kernel (re-run a function's cell after editing it).
#
# The notebook uses numpy, scipy, matplotlib and scikit-learn (its bundled 8x8 digits, no download).
# Set `BPGRADE_FAST=1` to make the training cells run only a few iterations.
#
# ## Submitting
#
# {{submit}}

# %% [markdown] role="readme" lang="zh"
# # 作业：神经网络的反向传递算法 (ex4)
#
# 对应课程 3.2 节《神经网络的反向传递算法》（内容来自吴恩达 Coursera 课程 ex4）。总分 {{total_points}} 分。
#
# | 文件 | 说明 |
# |---|---|
# | `backprop.ipynb` | 作业讲义：课上的推导、你要写的代码、每个部分的自测单元、在真实手写数字上训练 |
# | `nn.py` | 同样的函数，写成普通的 Python 模块，喜欢用编辑器的同学可以直接改它 |
# | `check.py` | 用公开测试用例检查你的代码，并按部分打印结果表 |
# | `submit.py` | 把作业提交到课程服务器，并按部分打印得分 |
#
# 提交 `nn.py` **或** `backprop.ipynb` 中的**一个**即可（两种格式评分程序都接受）。
#
# ## 需要实现的内容
#
# {{parts_table}}
#
# 请把代码写在 `你的代码从这里开始` 与 `你的代码到此结束` 两行之间；不要修改函数名和参数。约定：
# 类别标签为 `0..K-1`（形状为 `(m,)` 或 `(m, 1)`），每个 Θ 的第一列对应偏置单元，参数按行展开：
# `np.concatenate([Theta1.ravel(), Theta2.ravel()])`。
#
# ## 评分规则
#
# {{grader_rules}}
#
# ## 在本地自测
#
# {{install}}
#
# 然后运行：
#
# ```
# python check.py                    # 检查 nn.py
# python check.py backprop.ipynb     # 检查 notebook
# python check.py nn.py --part nnGrad
# ```
#
# `bpgrade check nn.py` 的效果相同。你的代码在独立的沙箱进程中运行，只使用**公开**测试用例；
# 正式评分还会使用为你单独生成的隐藏用例，所以通过全部公开用例是必要条件，而不是充分条件。
# 在 notebook 中，每个部分末尾都有一个自测单元，它检查的是当前内核中定义的函数（修改函数后请重新运行该单元格）。
#
# notebook 需要 numpy、scipy、matplotlib 和 scikit-learn（使用其自带的 8x8 手写数字数据，无需下载）。
# 设置环境变量 `BPGRADE_FAST=1` 可以让训练单元只迭代很少几步。
#
# ## 提交作业
#
# {{submit}}

# %% role="module-only"
"""Homework: backpropagation (lecture 3.2, after Andrew Ng's ex4).
作业：神经网络的反向传递算法（课程 3.2 节，吴恩达 ex4）。

Implement every function whose body holds a START/END OF YOUR CODE block. Conventions:

* X is (m, n): one example per row. Labels y are integers 0..K-1, shape (m,) or (m, 1).
* Theta^(l) is (s_{l+1}, s_l + 1); its first column multiplies the bias unit a_0 = 1.
* Parameters are unrolled row-major: np.concatenate([Theta1.ravel(), Theta2.ravel()]).

约定：X 每行一个样本；标签为 0..K-1；Theta 的第一列对应偏置；参数按行（row-major）展开。
Check your work with ``python check.py nn.py`` (needs the bpgrade package).
"""

# %% [markdown] lang="en"
# # Backpropagation (ex4)
#
# *Lecture 3.2 — Backpropagation in neural networks. After Andrew Ng's Coursera course.*
#
# In this homework you implement, from scratch and with numpy only, everything needed to train a
# neural network: forward propagation, the regularized cross-entropy cost, the backpropagation
# algorithm that computes its gradient, gradient checking, and training. You then generalize to a
# network with any number of layers (the lecture's four-layer picture), solve the lecture's last
# exercise (the squared-error cost), and train your network on real handwritten digits.
#
# {{parts_table}}
#
# **How to work.** Write your code between the `START OF YOUR CODE` and `END OF YOUR CODE` lines,
# run the cell, then run the check cell below it. A check cell runs the *public* test cases of one
# part in a separate process and prints what passed; the final grade also uses hidden cases, so
# make sure your code is right in general, not only on the examples. Do not rename functions or
# change their signatures. Submit this notebook or `nn.py`.
#
# **Conventions** (the same as the grader's):
# * `X` is $(m, n)$, one example per row; labels `y` are integers $0..K-1$, shape $(m,)$ or $(m, 1)$;
# * $\Theta^{(l)}$ has shape $(s_{l+1}, s_l + 1)$ and its **first column** multiplies the bias unit $a_0 = 1$;
# * parameters are unrolled **row by row**: `nn_params = np.concatenate([Theta1.ravel(), Theta2.ravel()])`.
#
# **The grader's rules** (they decide points, so read them once):
#
# {{grader_rules}}

# %% [markdown] lang="zh"
# # 神经网络的反向传递算法 (ex4)
#
# *课程 3.2 节——神经网络的反向传递算法。本节内容主要来自吴恩达 Coursera 网课。*
#
# 在本作业中，你将只用 numpy 从零实现训练神经网络所需的全部内容：前向传播、带正则化的交叉熵代价函数、
# 计算其梯度的反向传递（BP）算法、梯度检验以及训练。随后你会把它推广到任意层数的网络（即课上的四层网络图），
# 完成课件最后一页的思考题（误差平方和代价函数），并在真实的手写数字数据上训练你的网络。
#
# {{parts_table}}
#
# **怎样完成作业。** 把代码写在 `你的代码从这里开始` 和 `你的代码到此结束` 两行之间，运行该单元格，
# 再运行它下面的自测单元。自测单元会在独立进程中运行该部分的*公开*测试用例并打印结果；最终成绩还会使用隐藏用例，
# 所以请确保代码在一般情况下都正确，而不只是在示例上正确。不要修改函数名或参数。提交本 notebook 或 `nn.py` 均可。
#
# **约定**（与评分程序一致）：
# * `X` 的形状为 $(m, n)$，每行一个样本；标签 `y` 为 $0..K-1$ 的整数，形状为 $(m,)$ 或 $(m, 1)$；
# * $\Theta^{(l)}$ 的形状为 $(s_{l+1}, s_l + 1)$，它的**第一列**与偏置单元 $a_0 = 1$ 相乘；
# * 参数**按行**展开：`nn_params = np.concatenate([Theta1.ravel(), Theta2.ravel()])`。
#
# **评分规则**（它们关系到得分，请读一遍）：
#
# {{grader_rules}}

# %% role="module"
from collections.abc import Callable

import numpy as np

# %% [markdown] lang="en"
# ## Setup
#
# The next cell imports the plotting library and the self-check. `check("part")` runs that part's
# public cases on the functions defined in this notebook; it needs the `bpgrade` package (see
# `README.md`) and otherwise just says so. `BPGRADE_FAST=1` shortens the training cells.

# %% [markdown] lang="zh"
# ## 准备工作
#
# 下面的单元格导入绘图库和自测工具。`check("部分名")` 会用公开测试用例检查本 notebook 中定义的函数；
# 它需要安装 `bpgrade` 包（见 `README.md`），没有安装时只会给出提示。设置 `BPGRADE_FAST=1` 可缩短训练单元的运行时间。

# %% role="notebook"
import os

import matplotlib.pyplot as plt

FAST = os.environ.get("BPGRADE_FAST", "") not in ("", "0")

try:
    from check import make_checker  # check.py lives next to this notebook

    check = make_checker(globals())
except ImportError:  # no check.py here (e.g. the notebook was copied elsewhere)

    def check(part):
        print(f"[{part}] self-check unavailable: run this notebook next to check.py")
        print(f"[{part}] 自测不可用：请在 check.py 所在的目录中运行本 notebook")

# %% [markdown] lang="en" part="sigmoid"
# ## Part 1 · {{title:sigmoid}} ({{points:sigmoid}} points)
#
# The lecture's network (Layer 1 … Layer 4) computes, layer after layer,
#
# $$z^{(l+1)} = \Theta^{(l)} a^{(l)}, \qquad a^{(l+1)} = g\left(z^{(l+1)}\right), \qquad a^{(1)} = x,$$
#
# adding the bias unit $a^{(l)}_0 = 1$ to every layer but the last, and $h_\Theta(x) = a^{(L)}$.
# The activation is the sigmoid
#
# $$g(z) = \frac{1}{1 + e^{-z}}.$$
#
# Implement `sigmoid(z)` for a scalar or an array of any shape (elementwise). Large $|z|$ must work:
# `sigmoid(np.array([-1000., 0., 1000.]))` is `[0, 0.5, 1]`.

# %% [markdown] lang="zh" part="sigmoid"
# ## 第 1 部分 · {{title:sigmoid}}（{{points:sigmoid}} 分）
#
# 课上的网络（Layer 1 … Layer 4）逐层计算
#
# $$z^{(l+1)} = \Theta^{(l)} a^{(l)}, \qquad a^{(l+1)} = g\left(z^{(l+1)}\right), \qquad a^{(1)} = x,$$
#
# 除最后一层外，每层都要加上偏置单元 $a^{(l)}_0 = 1$，且 $h_\Theta(x) = a^{(L)}$。激活函数是 sigmoid 函数
#
# $$g(z) = \frac{1}{1 + e^{-z}}.$$
#
# 实现 `sigmoid(z)`：输入可以是标量或任意形状的数组（逐元素计算）。$|z|$ 很大时也必须正确：
# `sigmoid(np.array([-1000., 0., 1000.]))` 应为 `[0, 0.5, 1]`。


# %% role="module" part="sigmoid"
def sigmoid(z: np.ndarray) -> np.ndarray:
    """Sigmoid activation, elementwise: g(z) = 1 / (1 + exp(-z)).
    Sigmoid 激活函数（逐元素）。

    Parameters
    ----------
    z : array_like, any shape (a Python float is fine)

    Returns
    -------
    g : ndarray, the same shape as z, with values in [0, 1]
    """
    z = np.asarray(z, dtype=float)
    ### BEGIN SOLUTION
    # exp(-z) overflows to inf for z < -709, and 1 / (1 + inf) = 0 is the right limit: no warning.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))
    ### END SOLUTION


# %% role="notebook" part="sigmoid"
print(sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])))

# %% role="check" part="sigmoid"
check("sigmoid")

# %% [markdown] lang="en" part="sigmoidGradient"
# ## Part 2 · {{title:sigmoidGradient}} ({{points:sigmoidGradient}} points)
#
# Backpropagation needs $\partial a / \partial z$ for every layer. Following the lecture, with
# $a = g(z) = (1 + e^{-z})^{-1}$:
#
# $$
# \begin{aligned}
# \frac{\partial a}{\partial z}
#   &= \frac{-1}{(1 + e^{-z})^2} \cdot \frac{\partial}{\partial z}\left(e^{-z}\right)
#    = \frac{-1}{(1 + e^{-z})^2} \cdot e^{-z} \cdot (-1) \\
#   &= \frac{1}{1 + e^{-z}} \cdot \frac{e^{-z}}{1 + e^{-z}}
#    = g(z)\,\bigl(1 - g(z)\bigr),
# \end{aligned}
# $$
#
# because $\frac{e^{-z}}{1 + e^{-z}} = 1 - \frac{1}{1 + e^{-z}}$. So
#
# $$g'(z) = g(z)\,\bigl(1 - g(z)\bigr).$$
#
# Implement `sigmoidGradient(z)` elementwise, using your `sigmoid`. Sanity checks: $g'(0) = 0.25$
# is the maximum, and `sigmoidGradient([-1, -0.5, 0, 0.5, 1])` ≈ `[0.196612, 0.235004, 0.25, 0.235004, 0.196612]`.

# %% [markdown] lang="zh" part="sigmoidGradient"
# ## 第 2 部分 · {{title:sigmoidGradient}}（{{points:sigmoidGradient}} 分）
#
# 反向传递需要每一层的 $\partial a / \partial z$。按照课件的推导，令 $a = g(z) = (1 + e^{-z})^{-1}$：
#
# $$
# \begin{aligned}
# \frac{\partial a}{\partial z}
#   &= \frac{-1}{(1 + e^{-z})^2} \cdot \frac{\partial}{\partial z}\left(e^{-z}\right)
#    = \frac{-1}{(1 + e^{-z})^2} \cdot e^{-z} \cdot (-1) \\
#   &= \frac{1}{1 + e^{-z}} \cdot \frac{e^{-z}}{1 + e^{-z}}
#    = g(z)\,\bigl(1 - g(z)\bigr),
# \end{aligned}
# $$
#
# 这是因为 $\frac{e^{-z}}{1 + e^{-z}} = 1 - \frac{1}{1 + e^{-z}}$。所以对于 sigmoid 函数，其导数为
#
# $$g'(z) = g(z)\,\bigl(1 - g(z)\bigr).$$
#
# 利用你写好的 `sigmoid` 逐元素实现 `sigmoidGradient(z)`。自查：$g'(0) = 0.25$ 是最大值；
# `sigmoidGradient([-1, -0.5, 0, 0.5, 1])` ≈ `[0.196612, 0.235004, 0.25, 0.235004, 0.196612]`。


# %% role="module" part="sigmoidGradient"
def sigmoidGradient(z: np.ndarray) -> np.ndarray:
    """Derivative of the sigmoid, elementwise: g'(z) = g(z) * (1 - g(z)).
    Sigmoid 函数的导数（逐元素）。

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    g_prime : ndarray, the same shape as z, with values in [0, 0.25]
    """
    z = np.asarray(z, dtype=float)
    ### BEGIN SOLUTION
    g = sigmoid(z)
    return g * (1.0 - g)
    ### END SOLUTION


# %% role="notebook" part="sigmoidGradient"
print(sigmoidGradient(np.array([-1.0, -0.5, 0.0, 0.5, 1.0])))

# %% role="check" part="sigmoidGradient"
check("sigmoidGradient")

# %% [markdown] lang="en" part="randInitializeWeights"
# ## Part 3 · {{title:randInitializeWeights}} ({{points:randInitializeWeights}} points)
#
# If every weight started equal, every hidden unit would compute the same function and receive the
# same gradient, forever: the units must be *different* from the start (symmetry breaking). Draw
# each entry of $\Theta^{(l)}$ uniformly from $[-\epsilon_{init}, \epsilon_{init}]$, with
# $\epsilon_{init} = 0.12$ by default (ex4's choice; a common rule is
# $\epsilon_{init} = \sqrt{6} / \sqrt{L_{in} + L_{out}}$).
#
# `randInitializeWeights(L_in, L_out)` returns a $(L_{out}, 1 + L_{in})$ array: the extra column is
# the bias column. Use `np.random` so that `np.random.seed` makes it reproducible.

# %% [markdown] lang="zh" part="randInitializeWeights"
# ## 第 3 部分 · {{title:randInitializeWeights}}（{{points:randInitializeWeights}} 分）
#
# 如果所有权重的初始值都相同，那么每个隐含层节点都会计算同一个函数、得到同样的梯度，并且永远保持相同：
# 必须一开始就让它们*不同*（打破对称性）。把 $\Theta^{(l)}$ 的每个元素从 $[-\epsilon_{init}, \epsilon_{init}]$
# 上均匀随机选取，默认 $\epsilon_{init} = 0.12$（ex4 的取值；常用的经验公式是 $\epsilon_{init} = \sqrt{6} / \sqrt{L_{in} + L_{out}}$）。
#
# `randInitializeWeights(L_in, L_out)` 返回形状为 $(L_{out}, 1 + L_{in})$ 的数组，多出的一列是偏置列。
# 请使用 `np.random`，这样 `np.random.seed` 可以让结果可复现。


# %% role="module" part="randInitializeWeights"
def randInitializeWeights(L_in: int, L_out: int, epsilon_init: float = 0.12) -> np.ndarray:
    """Random weights for a layer with L_in inputs and L_out outputs, drawn from U[-eps, eps].
    随机初始化一层的权重，服从 [-epsilon_init, epsilon_init] 上的均匀分布。

    Parameters
    ----------
    L_in : int, number of incoming units (without the bias)
    L_out : int, number of outgoing units
    epsilon_init : float, half-width of the interval

    Returns
    -------
    W : ndarray of shape (L_out, 1 + L_in); column 0 holds the bias weights
    """
    ### BEGIN SOLUTION
    return np.random.rand(L_out, 1 + L_in) * 2.0 * epsilon_init - epsilon_init
    ### END SOLUTION


# %% role="notebook" part="randInitializeWeights"
np.random.seed(0)
print(randInitializeWeights(3, 2))

# %% role="check" part="randInitializeWeights"
check("randInitializeWeights")

# %% [markdown] lang="en" part="nnCost"
# ## Part 4 · {{title:nnCost}} ({{points:nnCost}} points)
#
# ex4's network has three layers: `input_layer_size` inputs, `hidden_layer_size` hidden units and
# `num_labels` $= K$ outputs, so $\Theta^{(1)}$ is $(s_2, s_1 + 1)$ and $\Theta^{(2)}$ is $(K, s_2 + 1)$.
#
# **Forward propagation, all examples at once.** With one example per row,
# $a^{(1)} = [\mathbf{1}, X]$ is $(m, s_1 + 1)$, and
#
# $$z^{(2)} = a^{(1)} \Theta^{(1)\top},\quad a^{(2)} = [\mathbf{1}, g(z^{(2)})],\quad
#   z^{(3)} = a^{(2)} \Theta^{(2)\top},\quad h_\Theta = a^{(3)} = g(z^{(3)}) \in \mathbb{R}^{m \times K}.$$
#
# (The lecture writes $z^{(2)} = \Theta^{(1)} a^{(1)}$ for one column vector $x$; stacking the
# examples as rows transposes everything.)
#
# **The cost.** Recode the labels as one-hot rows: $y^{(i)}_k = 1$ if example $i$ has label $k$
# (the code below builds this matrix `Y` for you). The regularized cross-entropy cost is
#
# $$J(\Theta) = -\frac{1}{m} \sum_{i=1}^m \sum_{k=1}^K \left[ y_k^{(i)} \log\left(h_\Theta(x^{(i)})\right)_k
#   + \left(1 - y_k^{(i)}\right) \log\left(1 - h_\Theta(x^{(i)})\right)_k \right]
#   + \frac{\lambda}{2m} \sum_{l=1}^{L-1} \sum_{i=1}^{s_l} \sum_{j=1}^{s_{l+1}} \left(\Theta_{ji}^{(l)}\right)^2 .$$
#
# The regularization sum starts at $i = 1$: **the bias column (column 0) is not regularized.**
#
# Fill in the **first** block of `nnCostFunction` (forward propagation and $J$). Leave the second
# block for Part 5: until then the function returns a zero gradient, so you can check $J$ alone.

# %% [markdown] lang="zh" part="nnCost"
# ## 第 4 部分 · {{title:nnCost}}（{{points:nnCost}} 分）
#
# ex4 的网络有三层：`input_layer_size` 个输入、`hidden_layer_size` 个隐含层节点、`num_labels` $= K$ 个输出，
# 所以 $\Theta^{(1)}$ 的形状是 $(s_2, s_1 + 1)$，$\Theta^{(2)}$ 的形状是 $(K, s_2 + 1)$。
#
# **前向传播（一次处理全部样本）。** 每行一个样本时，$a^{(1)} = [\mathbf{1}, X]$ 的形状为 $(m, s_1 + 1)$，并且
#
# $$z^{(2)} = a^{(1)} \Theta^{(1)\top},\quad a^{(2)} = [\mathbf{1}, g(z^{(2)})],\quad
#   z^{(3)} = a^{(2)} \Theta^{(2)\top},\quad h_\Theta = a^{(3)} = g(z^{(3)}) \in \mathbb{R}^{m \times K}.$$
#
# （课件中对单个列向量 $x$ 写作 $z^{(2)} = \Theta^{(1)} a^{(1)}$；把样本按行堆叠后，各式都相应转置。）
#
# **代价函数。** 把标签改写成 one-hot 行向量：若第 $i$ 个样本的标签为 $k$，则 $y^{(i)}_k = 1$（下面的代码已经为你构造好矩阵 `Y`）。
# 基于交叉熵、带正则化的代价函数为
#
# $$J(\Theta) = -\frac{1}{m} \sum_{i=1}^m \sum_{k=1}^K \left[ y_k^{(i)} \log\left(h_\Theta(x^{(i)})\right)_k
#   + \left(1 - y_k^{(i)}\right) \log\left(1 - h_\Theta(x^{(i)})\right)_k \right]
#   + \frac{\lambda}{2m} \sum_{l=1}^{L-1} \sum_{i=1}^{s_l} \sum_{j=1}^{s_{l+1}} \left(\Theta_{ji}^{(l)}\right)^2 .$$
#
# 正则项中 $i$ 从 1 开始：**偏置列（第 0 列）不参与正则化。**
#
# 完成 `nnCostFunction` 中的**第一个**代码块（前向传播与 $J$）。第二个代码块留到第 5 部分：在此之前函数返回全零梯度，
# 你可以先单独检查 $J$。


# %% role="module" part="nnCost"
def nnCostFunction(
    nn_params: np.ndarray,
    input_layer_size: int,
    hidden_layer_size: int,
    num_labels: int,
    X: np.ndarray,
    y: np.ndarray,
    lambda_: float = 0.0,
) -> tuple[float, np.ndarray]:
    """Cost and gradient of a 3-layer network (input, hidden, output).
    三层神经网络的代价函数及其梯度（反向传递）。

    J = -1/m sum_i sum_k [ y_k log h_k + (1 - y_k) log(1 - h_k) ]
        + lambda/(2m) * (sum of squares of Theta1[:, 1:] and Theta2[:, 1:])

    Parameters
    ----------
    nn_params : ndarray of shape (s2*(s1+1) + K*(s2+1),)
        Theta1 (s2, s1+1) and Theta2 (K, s2+1), unrolled row-major and concatenated.
    input_layer_size : int, s1
    hidden_layer_size : int, s2
    num_labels : int, K
    X : ndarray of shape (m, s1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1
    lambda_ : float, regularization strength (the bias column is not regularized)

    Returns
    -------
    J : float, the regularized cross-entropy cost
    grad : ndarray of shape nn_params.shape
        dJ/dTheta1 and dJ/dTheta2 unrolled the same way:
        D = Delta/m + (lambda/m) * Theta, without the lambda term in column 0.
    """
    # Given: unroll the parameters, one-hot labels.
    s1, s2, K = input_layer_size, hidden_layer_size, num_labels
    Theta1 = np.reshape(nn_params[: s2 * (s1 + 1)], (s2, s1 + 1))
    Theta2 = np.reshape(nn_params[s2 * (s1 + 1) :], (K, s2 + 1))
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(K)[np.asarray(y).astype(int).ravel()]  # (m, K), row i = one-hot label of example i

    J = 0.0
    Theta1_grad = np.zeros_like(Theta1)
    Theta2_grad = np.zeros_like(Theta2)

    # Part 4: forward propagation (a1, z2, a2, z3, a3) and the regularized cost J.
    ### BEGIN SOLUTION
    a1 = np.hstack([np.ones((m, 1)), X])  # (m, s1+1)
    z2 = a1 @ Theta1.T  # (m, s2)
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])  # (m, s2+1)
    a3 = sigmoid(a2 @ Theta2.T)  # (m, K) = h_Theta(x)
    J = -np.sum(Y * np.log(a3) + (1.0 - Y) * np.log(1.0 - a3)) / m
    J += lambda_ / (2.0 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    ### END SOLUTION

    # Part 5: backpropagation. delta3 = a3 - Y; delta2 = (delta3 Theta2)[:, 1:] .* g'(z2);
    # Theta_grad = Delta / m, plus (lambda/m) Theta outside column 0.
    ### BEGIN SOLUTION stub=pass
    delta3 = a3 - Y  # (m, K)
    delta2 = (delta3 @ Theta2)[:, 1:] * sigmoidGradient(z2)  # (m, s2): drop the bias unit's delta
    Theta1_grad = delta2.T @ a1 / m  # Delta^(1) / m, (s2, s1+1)
    Theta2_grad = delta3.T @ a2 / m  # Delta^(2) / m, (K, s2+1)
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]
    ### END SOLUTION

    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return float(J), grad


# %% [markdown] lang="en" part="nnCost"
# The cell below uses the same small network as ex4's grader: $s_1 = 2$, $s_2 = 4$, $K = 4$, $m = 16$.
# Run it before and after filling in the cost.

# %% [markdown] lang="zh" part="nnCost"
# 下面的单元格使用与 ex4 评分程序相同的小网络：$s_1 = 2$，$s_2 = 4$，$K = 4$，$m = 16$。填写代价函数前后各运行一次看看。

# %% role="notebook" part="nnCost"
X_small = np.sin(np.arange(1, 33)).reshape(16, 2) / 5
y_small = np.arange(1, 17) % 4
params_small = np.concatenate(
    [
        np.sin(np.arange(1, 24, 2)).reshape(4, 3).ravel(),
        np.cos(np.arange(1, 40, 2)).reshape(4, 5).ravel(),
    ]
)
J_small, _ = nnCostFunction(params_small, 2, 4, 4, X_small, y_small, lambda_=1.5)
print(f"J(lambda=1.5) = {J_small:.6f}")

# %% role="check" part="nnCost"
check("nnCost")

# %% [markdown] lang="en" part="nnGrad"
# ## Part 5 · {{title:nnGrad}} ({{points:nnGrad}} points)
#
# We need $\frac{\partial}{\partial \Theta^{(l)}_{ij}} J(\Theta)$ for every weight. Let
# $\delta^{(l)}_j$ be the "error" of node $j$ in layer $l$: $\delta^{(l)} = \partial J / \partial z^{(l)}$.
# For one example, by the chain rule through the lecture's four-layer network:
#
# $$\delta^{(4)} = \frac{\partial J}{\partial a^{(4)}} \frac{\partial a^{(4)}}{\partial z^{(4)}}, \qquad
#   \delta^{(3)} = \delta^{(4)} \frac{\partial z^{(4)}}{\partial a^{(3)}} \frac{\partial a^{(3)}}{\partial z^{(3)}}, \qquad
#   \frac{\partial J}{\partial \Theta^{(3)}} = \delta^{(4)} \frac{\partial z^{(4)}}{\partial \Theta^{(3)}} = \delta^{(4)} \left(a^{(3)}\right)^\top .$$
#
# **Output layer.** For the cross-entropy of one example,
#
# $$\frac{\partial J}{\partial a^{(L)}} = -\frac{y}{a^{(L)}} + \frac{1 - y}{1 - a^{(L)}}
#   = \frac{a^{(L)} - y}{a^{(L)} \left(1 - a^{(L)}\right)}, \qquad
#   \frac{\partial a^{(L)}}{\partial z^{(L)}} = a^{(L)} \left(1 - a^{(L)}\right)$$
#
# (Part 2), and the two factors cancel:
#
# $$\boxed{\delta^{(L)} = a^{(L)} - y.}$$
#
# **Hidden layers.** Since $z^{(l+1)} = \Theta^{(l)} a^{(l)}$, $\partial z^{(l+1)} / \partial a^{(l)} = \Theta^{(l)}$, so
#
# $$\boxed{\delta^{(l)} = \left(\Theta^{(l)}\right)^\top \delta^{(l+1)} \;.\!*\; g'\left(z^{(l)}\right)}$$
#
# for $l = L-1, \dots, 2$ (there is no $\delta^{(1)}$: inputs have no error). Drop the bias unit's
# entry $\delta^{(l)}_0$, which belongs to no $z$.
#
# **Accumulate and average.** Set $\Delta^{(l)} = 0$; for each example $i$: forward propagation,
# $\delta^{(L)}, \dots, \delta^{(2)}$, then $\Delta^{(l)} := \Delta^{(l)} + \delta^{(l+1)} \left(a^{(l)}\right)^\top$. Finally
#
# $$\frac{\partial}{\partial \Theta_{ij}^{(l)}} J(\Theta) = D_{ij}^{(l)} =
#   \begin{cases} \frac{1}{m} \Delta_{ij}^{(l)} + \frac{\lambda}{m} \Theta_{ij}^{(l)} & j \neq 0 \\
#   \frac{1}{m} \Delta_{ij}^{(l)} & j = 0 \end{cases}$$
#
# **Vectorized.** With examples as rows, the loop over $i$ becomes matrix products:
# `delta3 = a3 - Y` is $(m, K)$, `delta2 = (delta3 @ Theta2)[:, 1:] * sigmoidGradient(z2)` is $(m, s_2)$,
# and $\Delta^{(2)} = $ `delta3.T @ a2`, $\Delta^{(1)} = $ `delta2.T @ a1`.
# A loop over examples is also fine (and a good first version), just slower.
#
# Go back to `nnCostFunction` and fill in the **second** block, re-run that cell, then check.

# %% [markdown] lang="zh" part="nnGrad"
# ## 第 5 部分 · {{title:nnGrad}}（{{points:nnGrad}} 分）
#
# 我们需要代价函数对每个权重的偏导 $\frac{\partial}{\partial \Theta^{(l)}_{ij}} J(\Theta)$。
# 记 $\delta^{(l)}_j$ 为第 $l$ 层第 $j$ 个节点的"误差"：$\delta^{(l)} = \partial J / \partial z^{(l)}$。
# 对一个样本，在课上的四层网络中使用链式求导法：
#
# $$\delta^{(4)} = \frac{\partial J}{\partial a^{(4)}} \frac{\partial a^{(4)}}{\partial z^{(4)}}, \qquad
#   \delta^{(3)} = \delta^{(4)} \frac{\partial z^{(4)}}{\partial a^{(3)}} \frac{\partial a^{(3)}}{\partial z^{(3)}}, \qquad
#   \frac{\partial J}{\partial \Theta^{(3)}} = \delta^{(4)} \frac{\partial z^{(4)}}{\partial \Theta^{(3)}} = \delta^{(4)} \left(a^{(3)}\right)^\top .$$
#
# 误差（可复用）沿网络反向传递：算法的价值在于把输出层的误差分解到每个节点、尤其是隐含层节点的输出上，
# 从而可以通过梯度调整各节点的输入权重。
#
# **输出层误差。** 对一个样本的交叉熵求导：
#
# $$\frac{\partial J}{\partial a^{(L)}} = -\frac{y}{a^{(L)}} + \frac{1 - y}{1 - a^{(L)}}
#   = \frac{a^{(L)} - y}{a^{(L)} \left(1 - a^{(L)}\right)}, \qquad
#   \frac{\partial a^{(L)}}{\partial z^{(L)}} = a^{(L)} \left(1 - a^{(L)}\right)$$
#
# （第 2 部分），两个因子相乘后约去：
#
# $$\boxed{\delta^{(L)} = a^{(L)} - y.}$$
#
# **隐含层误差。** 由 $z^{(l+1)} = \Theta^{(l)} a^{(l)}$ 得 $\partial z^{(l+1)} / \partial a^{(l)} = \Theta^{(l)}$，所以
#
# $$\boxed{\delta^{(l)} = \left(\Theta^{(l)}\right)^\top \delta^{(l+1)} \;.\!*\; g'\left(z^{(l)}\right)}$$
#
# 其中 $l = L-1, \dots, 2$（没有 $\delta^{(1)}$：输入层没有误差）。偏置单元对应的分量 $\delta^{(l)}_0$ 不属于任何 $z$，要去掉。
#
# **累计并求平均。** 令 $\Delta^{(l)} = 0$；对每个样本 $i$：前向传播，计算 $\delta^{(L)}, \dots, \delta^{(2)}$，
# 再累计 $\Delta^{(l)} := \Delta^{(l)} + \delta^{(l+1)} \left(a^{(l)}\right)^\top$（为每个样本累计误差）。最后
#
# $$\frac{\partial}{\partial \Theta_{ij}^{(l)}} J(\Theta) = D_{ij}^{(l)} =
#   \begin{cases} \frac{1}{m} \Delta_{ij}^{(l)} + \frac{\lambda}{m} \Theta_{ij}^{(l)} & j \neq 0 \\
#   \frac{1}{m} \Delta_{ij}^{(l)} & j = 0 \end{cases}$$
#
# **向量化。** 样本按行排列时，对 $i$ 的循环变成矩阵乘法：`delta3 = a3 - Y` 的形状为 $(m, K)$，
# `delta2 = (delta3 @ Theta2)[:, 1:] * sigmoidGradient(z2)` 的形状为 $(m, s_2)$，
# $\Delta^{(2)} = $ `delta3.T @ a2`，$\Delta^{(1)} = $ `delta2.T @ a1`。
# 对样本逐个循环也可以（而且是很好的第一版），只是慢一些。
#
# 回到 `nnCostFunction`，完成**第二个**代码块，重新运行该单元格，然后运行下面的自测。

# %% role="notebook" part="nnGrad"
_, grad_small = nnCostFunction(params_small, 2, 4, 4, X_small, y_small, lambda_=1.5)
print("grad[:5] =", np.round(grad_small[:5], 6))

# %% role="check" part="nnGrad"
check("nnGrad")

# %% [markdown] lang="en" part="computeNumericalGradient"
# ## Part 6 · {{title:computeNumericalGradient}} ({{points:computeNumericalGradient}} points)
#
# Backpropagation is easy to get *almost* right. Gradient checking compares it with a numerical
# estimate. For each parameter $p$, perturb $\theta$ by $\pm\epsilon$ along the unit vector $e_p$
# and take the central difference
#
# $$\frac{\partial J}{\partial \theta_p} \approx \frac{J(\theta + \epsilon e_p) - J(\theta - \epsilon e_p)}{2\epsilon},
#   \qquad \epsilon = 10^{-4},$$
#
# whose error is $O(\epsilon^2)$. `J(theta)` may return the cost alone or a tuple `(cost, grad)`
# (as `nnCostFunction` does, in the gradient check below); the given helper `cost` keeps only the
# cost, and the check cell tests both forms. Each estimate costs two evaluations of $J$, so use
# this only to *check* backpropagation, on a small network — never to train.

# %% [markdown] lang="zh" part="computeNumericalGradient"
# ## 第 6 部分 · {{title:computeNumericalGradient}}（{{points:computeNumericalGradient}} 分）
#
# 反向传递算法很容易写得"几乎正确"。梯度检验把它与数值估计进行比较：对每个参数 $p$，
# 沿单位向量 $e_p$ 把 $\theta$ 扰动 $\pm\epsilon$，取中心差分
#
# $$\frac{\partial J}{\partial \theta_p} \approx \frac{J(\theta + \epsilon e_p) - J(\theta - \epsilon e_p)}{2\epsilon},
#   \qquad \epsilon = 10^{-4},$$
#
# 其误差为 $O(\epsilon^2)$。`J(theta)` 可能只返回代价，也可能像 `nnCostFunction` 那样返回元组 `(cost, grad)`
# （下面的梯度检验就是这样调用的）；已给出的辅助函数 `cost` 只保留代价，自测单元会检查这两种形式。
# 每个分量都要计算两次 $J$，所以它只用于在小网络上*检验*反向传递，绝不能用来训练。


# %% role="module" part="computeNumericalGradient"
def computeNumericalGradient(
    J: Callable[[np.ndarray], float | tuple], theta: np.ndarray, e: float = 1e-4
) -> np.ndarray:
    """Central-difference estimate of the gradient of J at theta.
    用中心差分估计 J 在 theta 处的梯度（梯度检验）。

    numgrad[p] = (J(theta + e * u_p) - J(theta - e * u_p)) / (2 e), u_p the p-th unit vector.

    Parameters
    ----------
    J : callable, J(theta) -> cost, or -> (cost, grad) like nnCostFunction; as in ex4, only
        the first output (the cost) is used. The graded cases call it both ways.
    theta : ndarray of shape (n,)
    e : float, the perturbation

    Returns
    -------
    numgrad : ndarray of shape theta.shape
    """

    def cost(t):  # given: accept J returning a cost or a (cost, grad) tuple
        value = J(t)
        return value[0] if isinstance(value, (tuple, list)) else value

    theta = np.asarray(theta, dtype=float)
    numgrad = np.zeros_like(theta)
    ### BEGIN SOLUTION
    perturb = np.zeros_like(theta)
    for p in range(theta.size):
        perturb.flat[p] = e
        numgrad.flat[p] = (float(cost(theta + perturb)) - float(cost(theta - perturb))) / (2.0 * e)
        perturb.flat[p] = 0.0
    ### END SOLUTION
    return numgrad


# %% role="notebook" part="computeNumericalGradient"
print(
    computeNumericalGradient(lambda t: np.sum(t**3), np.array([1.0, -2.0, 0.5])), "~ [3, 12, 0.75]"
)

# %% role="check" part="computeNumericalGradient"
check("computeNumericalGradient")

# %% [markdown] lang="en"
# ### Checking your backpropagation
#
# The next cell builds a small network with deterministic "debug" weights and compares your
# `nnCostFunction` gradient with `computeNumericalGradient`. If backpropagation is right, the
# relative difference $\lVert n - b \rVert / \lVert n + b \rVert$ is below $10^{-9}$.

# %% [markdown] lang="zh"
# ### 检验你的反向传递
#
# 下面的单元格用确定的"调试"权重构造一个小网络，比较 `nnCostFunction` 的梯度与 `computeNumericalGradient` 的结果。
# 反向传递正确时，相对误差 $\lVert n - b \rVert / \lVert n + b \rVert$ 小于 $10^{-9}$。


# %% role="notebook"
def debugInitializeWeights(fan_out, fan_in):
    """Deterministic (fan_out, 1 + fan_in) weights, like ex4's (row-major here)."""
    return np.sin(np.arange(1, fan_out * (1 + fan_in) + 1)).reshape(fan_out, 1 + fan_in) / 10


def checkNNGradients(lambda_=0.0):
    """Compare backpropagation with numerical gradients on a 3-5-3 network; return the relative difference."""
    s1, s2, K, m = 3, 5, 3, 5
    params = np.concatenate(
        [debugInitializeWeights(s2, s1).ravel(), debugInitializeWeights(K, s2).ravel()]
    )
    X = debugInitializeWeights(m, s1 - 1)
    y = np.arange(1, m + 1) % K
    _, grad = nnCostFunction(params, s1, s2, K, X, y, lambda_)
    numgrad = computeNumericalGradient(
        lambda p: nnCostFunction(p, s1, s2, K, X, y, lambda_), params
    )
    diff = np.linalg.norm(numgrad - grad) / max(np.linalg.norm(numgrad + grad), 1e-300)
    print(
        f"lambda = {lambda_}: relative difference {diff:.3e}", "(ok)" if diff < 1e-9 else "(CHECK!)"
    )
    return diff


diff_lambda0 = checkNNGradients(0.0)
diff_lambda3 = checkNNGradients(3.0)

# %% [markdown] lang="en" part="nnCostFunctionDeep"
# ## Part 7 · {{title:nnCostFunctionDeep}} ({{points:nnCostFunctionDeep}} points)
#
# Nothing in the derivation needed exactly three layers. The lecture draws four (Layer 1 … Layer 4):
#
# $$z^{(2)} = \Theta^{(1)} a^{(1)},\quad z^{(3)} = \Theta^{(2)} a^{(2)},\quad z^{(4)} = \Theta^{(3)} a^{(3)},\quad
#   a^{(4)} = g(z^{(4)}) = h_\Theta(x),$$
#
# and the errors flow back the same way: $\delta^{(4)} = a^{(4)} - y$,
# $\delta^{(3)} = (\Theta^{(3)})^\top \delta^{(4)} .* g'(z^{(3)})$,
# $\delta^{(2)} = (\Theta^{(2)})^\top \delta^{(3)} .* g'(z^{(2)})$, with
# $\partial J / \partial \Theta^{(l)} = \delta^{(l+1)} (a^{(l)})^\top$ (averaged, plus regularization).
#
# Implement `nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_)` for any
# `layer_sizes = [s_1, s_2, ..., s_L]` with $L \ge 2$: the same cost and gradient as Part 4–5, with
# loops over the layers instead of named variables. `rollParams` (given) splits `nn_params` into the
# list of $\Theta^{(l)}$, and `unrollParams` (given) does the reverse. Keep every layer's $a$ (with
# bias) and $z$ from the forward pass: the backward pass needs them.

# %% [markdown] lang="zh" part="nnCostFunctionDeep"
# ## 第 7 部分 · {{title:nnCostFunctionDeep}}（{{points:nnCostFunctionDeep}} 分）
#
# 上面的推导并不依赖于网络恰好是三层。课件画的是四层网络（Layer 1 … Layer 4）：
#
# $$z^{(2)} = \Theta^{(1)} a^{(1)},\quad z^{(3)} = \Theta^{(2)} a^{(2)},\quad z^{(4)} = \Theta^{(3)} a^{(3)},\quad
#   a^{(4)} = g(z^{(4)}) = h_\Theta(x),$$
#
# 误差以同样的方式反向传递：$\delta^{(4)} = a^{(4)} - y$，
# $\delta^{(3)} = (\Theta^{(3)})^\top \delta^{(4)} .* g'(z^{(3)})$，
# $\delta^{(2)} = (\Theta^{(2)})^\top \delta^{(3)} .* g'(z^{(2)})$，并且
# $\partial J / \partial \Theta^{(l)} = \delta^{(l+1)} (a^{(l)})^\top$（再求平均并加上正则项）。
#
# 实现 `nnCostFunctionDeep(nn_params, layer_sizes, X, y, lambda_)`，其中 `layer_sizes = [s_1, s_2, ..., s_L]`，$L \ge 2$：
# 代价与梯度和第 4–5 部分相同，只是用对层的循环代替具名变量。已给出的 `rollParams` 把 `nn_params` 拆成 $\Theta^{(l)}$ 的列表，
# `unrollParams` 做相反的操作。前向传播时请保存每一层的 $a$（含偏置）和 $z$：反向传递要用到它们。


# %% role="module" part="nnCostFunctionDeep"
def rollParams(nn_params: np.ndarray, layer_sizes: list[int]) -> list[np.ndarray]:
    """Split unrolled parameters into [Theta1, ..., Theta_{L-1}] (given).
    把展开的参数向量还原为各层的 Theta 矩阵（已给出）。

    Theta_l has shape (layer_sizes[l+1], layer_sizes[l] + 1); the blocks are row-major, in order.
    """
    Thetas, start = [], 0
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        size = s_out * (s_in + 1)
        Thetas.append(np.reshape(nn_params[start : start + size], (s_out, s_in + 1)))
        start += size
    if start != np.size(nn_params):
        raise ValueError(
            f"nn_params has {np.size(nn_params)} entries, layer_sizes {layer_sizes} need {start}"
        )
    return Thetas


def unrollParams(Thetas: list[np.ndarray]) -> np.ndarray:
    """Concatenate [Theta1, ..., Theta_{L-1}] row-major into one vector (given).
    把各层的 Theta 按行展开并拼接成一个向量（已给出）。
    """
    return np.concatenate([np.ravel(T) for T in Thetas])


def nnCostFunctionDeep(
    nn_params: np.ndarray,
    layer_sizes: list[int],
    X: np.ndarray,
    y: np.ndarray,
    lambda_: float = 0.0,
) -> tuple[float, np.ndarray]:
    """Cost and gradient of a network with any number of layers L >= 2.
    任意层数（L >= 2）神经网络的代价函数及其梯度。

    Forward:  a1 = [1, X];  z_{l+1} = a_l Theta_l^T;  a_{l+1} = [1, g(z_{l+1})]  (no bias on the output)
    Cost:     as nnCostFunction, regularizing every Theta_l[:, 1:]
    Backward: delta_L = a_L - Y;  delta_l = (delta_{l+1} Theta_l)[:, 1:] * g'(z_l)
              grad Theta_l = delta_{l+1}^T a_l / m  (+ lambda/m Theta_l outside column 0)

    Parameters
    ----------
    nn_params : ndarray of shape (sum_l s_{l+1} (s_l + 1),), the Thetas unrolled row-major in order
    layer_sizes : list of int [s_1, ..., s_L], input size first, K = s_L outputs last
    X : ndarray of shape (m, s_1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1
    lambda_ : float, regularization strength

    Returns
    -------
    J : float
    grad : ndarray of shape nn_params.shape
    """
    Thetas = rollParams(nn_params, layer_sizes)
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(layer_sizes[-1])[np.asarray(y).astype(int).ravel()]  # (m, K)
    ### BEGIN SOLUTION
    # Forward pass: a_list[l] is layer l+1's activation with its bias column (none on the output).
    a_list = [np.hstack([np.ones((m, 1)), X])]
    z_list = []
    for l, Theta in enumerate(Thetas):
        z = a_list[-1] @ Theta.T
        z_list.append(z)
        a = sigmoid(z)
        if l < len(Thetas) - 1:
            a = np.hstack([np.ones((m, 1)), a])
        a_list.append(a)
    h = a_list[-1]
    J = -np.sum(Y * np.log(h) + (1.0 - Y) * np.log(1.0 - h)) / m
    J += lambda_ / (2.0 * m) * sum(np.sum(Theta[:, 1:] ** 2) for Theta in Thetas)

    # Backward pass, from the output layer down to layer 2.
    grads = [np.zeros_like(Theta) for Theta in Thetas]
    delta = h - Y
    for l in range(len(Thetas) - 1, -1, -1):
        grads[l] = delta.T @ a_list[l] / m
        grads[l][:, 1:] += lambda_ / m * Thetas[l][:, 1:]
        if l > 0:
            delta = (delta @ Thetas[l])[:, 1:] * sigmoidGradient(z_list[l - 1])
    return float(J), unrollParams(grads)
    ### END SOLUTION


# %% role="notebook" part="nnCostFunctionDeep"
sizes_deep = [3, 5, 4, 3]  # the lecture's four layers
np.random.seed(1)
params_deep = np.concatenate(
    [randInitializeWeights(a, b, 0.5).ravel() for a, b in zip(sizes_deep[:-1], sizes_deep[1:])]
)
X_deep, y_deep = np.random.randn(6, 3), np.arange(6) % 3
J_deep, grad_deep = nnCostFunctionDeep(params_deep, sizes_deep, X_deep, y_deep, 1.0)
numgrad_deep = computeNumericalGradient(
    lambda p: nnCostFunctionDeep(p, sizes_deep, X_deep, y_deep, 1.0), params_deep
)
print(
    f"J = {J_deep:.6f}, relative difference {np.linalg.norm(numgrad_deep - grad_deep) / np.linalg.norm(numgrad_deep + grad_deep):.2e}"
)

# %% role="check" part="nnCostFunctionDeep"
check("nnCostFunctionDeep")

# %% [markdown] lang="en" part="squaredErrorDelta"
# ## Part 8 · {{title:squaredErrorDelta}} ({{points:squaredErrorDelta}} points)
#
# The lecture ends with a question: **what if the cost is the sum of squared errors** (textbook
# P102, (5.4)) instead of the cross-entropy?
#
# $$E = \frac{1}{2} \sum_{i=1}^m \sum_{k=1}^K \left(a^{(L)(i)}_k - y^{(i)}_k\right)^2$$
#
# Find the output error and the gradient:
#
# $$\delta^{(L)} = \frac{\partial E}{\partial z^{(L)}} = \frac{\partial E}{\partial a^{(L)}} \frac{\partial a^{(L)}}{\partial z^{(L)}}, \qquad
#   \frac{\partial E}{\partial \Theta_{ij}^{(L-1)}} = \delta_i^{(L)} \frac{\partial z_i^{(L)}}{\partial \Theta_{ij}^{(L-1)}} .$$
#
# Derive it yourself first. Hint: $\partial E / \partial a^{(L)}$ is simple, and
# $\partial a^{(L)} / \partial z^{(L)}$ is Part 2's result — this time it does **not** cancel.
# Then implement `squaredErrorDelta(a_out, Y)`: $\delta^{(L)}$ for all examples, where `a_out` and
# `Y` are $(m, K)$ (Y one-hot). The hidden-layer recursion $\delta^{(l)} = (\Theta^{(l)})^\top \delta^{(l+1)} .* g'(z^{(l)})$
# does not depend on the cost, so it stays the same.

# %% [markdown] lang="zh" part="squaredErrorDelta"
# ## 第 8 部分 · {{title:squaredErrorDelta}}（{{points:squaredErrorDelta}} 分）
#
# 课件最后一页的问题：**如果将损失函数更换为误差平方和**（基于教材 P102 公式 (5.4)），而不是交叉熵：
#
# $$E = \frac{1}{2} \sum_{i=1}^m \sum_{k=1}^K \left(a^{(L)(i)}_k - y^{(i)}_k\right)^2$$
#
# 请求解反向传递误差和对应的梯度：
#
# $$\delta^{(L)} = \frac{\partial E}{\partial z^{(L)}} = \frac{\partial E}{\partial a^{(L)}} \frac{\partial a^{(L)}}{\partial z^{(L)}}, \qquad
#   \frac{\partial E}{\partial \Theta_{ij}^{(L-1)}} = \delta_i^{(L)} \frac{\partial z_i^{(L)}}{\partial \Theta_{ij}^{(L-1)}} .$$
#
# 请先自己推导。提示：$\partial E / \partial a^{(L)}$ 很简单，$\partial a^{(L)} / \partial z^{(L)}$ 就是第 2 部分的结果——这一次它**不会**被约去。
# 然后实现 `squaredErrorDelta(a_out, Y)`：对全部样本计算 $\delta^{(L)}$，其中 `a_out` 与 `Y` 的形状都是 $(m, K)$（Y 为 one-hot）。
# 隐含层的递推公式 $\delta^{(l)} = (\Theta^{(l)})^\top \delta^{(l+1)} .* g'(z^{(l)})$ 与代价函数无关，保持不变。


# %% role="module" part="squaredErrorDelta"
def squaredErrorDelta(a_out: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Output-layer delta for the squared-error cost E = 1/2 sum (a - y)^2 with sigmoid outputs.
    误差平方和代价函数下输出层的误差 delta = dE/dz。

    Parameters
    ----------
    a_out : ndarray of shape (m, K), the output activations a^(L) = g(z^(L))
    Y : ndarray of shape (m, K), the one-hot targets

    Returns
    -------
    delta : ndarray of shape (m, K), dE/dz^(L) = dE/da * da/dz
    """
    ### BEGIN SOLUTION
    return (a_out - Y) * a_out * (1.0 - a_out)
    ### END SOLUTION


# %% role="check" part="squaredErrorDelta"
check("squaredErrorDelta")

# %% [markdown] lang="en" part="squaredErrorCostFunction"
# ## Part 9 · {{title:squaredErrorCostFunction}} ({{points:squaredErrorCostFunction}} points)
#
# Now the whole network under the squared-error cost, for any `layer_sizes`:
# $E = \frac{1}{2} \sum_i \sum_k (a^{(L)(i)}_k - y^{(i)}_k)^2$, exactly as in the lecture:
# **no** $\frac{1}{m}$ and **no** regularization, so the gradient is the accumulated $\Delta^{(l)}$ itself.
# Use `squaredErrorDelta` for $\delta^{(L)}$ and the usual recursion below it.

# %% [markdown] lang="zh" part="squaredErrorCostFunction"
# ## 第 9 部分 · {{title:squaredErrorCostFunction}}（{{points:squaredErrorCostFunction}} 分）
#
# 现在对任意 `layer_sizes` 的整个网络使用误差平方和代价：$E = \frac{1}{2} \sum_i \sum_k (a^{(L)(i)}_k - y^{(i)}_k)^2$，
# 与课件完全一致：**没有** $\frac{1}{m}$，**没有**正则项，因此梯度就是累计的 $\Delta^{(l)}$ 本身。
# 用 `squaredErrorDelta` 计算 $\delta^{(L)}$，其下各层使用通常的递推公式。


# %% role="module" part="squaredErrorCostFunction"
def squaredErrorCostFunction(
    nn_params: np.ndarray, layer_sizes: list[int], X: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Squared-error cost E = 1/2 sum_i sum_k (a_k - y_k)^2 and its gradient (no 1/m, no regularization).
    误差平方和代价函数 E 及其梯度（不除以 m，不加正则项）。

    Backward: delta_L = squaredErrorDelta(a_L, Y);  delta_l = (delta_{l+1} Theta_l)[:, 1:] * g'(z_l);
              grad Theta_l = delta_{l+1}^T a_l  (= Delta_l, not divided by m)

    Parameters
    ----------
    nn_params : ndarray, the Thetas unrolled row-major in order (as nnCostFunctionDeep)
    layer_sizes : list of int [s_1, ..., s_L]
    X : ndarray of shape (m, s_1)
    y : ndarray of shape (m,) or (m, 1), integer labels in 0..K-1

    Returns
    -------
    E : float
    grad : ndarray of shape nn_params.shape
    """
    Thetas = rollParams(nn_params, layer_sizes)
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    Y = np.eye(layer_sizes[-1])[np.asarray(y).astype(int).ravel()]  # (m, K)
    ### BEGIN SOLUTION
    a_list = [np.hstack([np.ones((m, 1)), X])]
    z_list = []
    for l, Theta in enumerate(Thetas):
        z = a_list[-1] @ Theta.T
        z_list.append(z)
        a = sigmoid(z)
        if l < len(Thetas) - 1:
            a = np.hstack([np.ones((m, 1)), a])
        a_list.append(a)
    h = a_list[-1]
    E = 0.5 * np.sum((h - Y) ** 2)

    grads = [np.zeros_like(Theta) for Theta in Thetas]
    delta = squaredErrorDelta(h, Y)
    for l in range(len(Thetas) - 1, -1, -1):
        grads[l] = delta.T @ a_list[l]
        if l > 0:
            delta = (delta @ Thetas[l])[:, 1:] * sigmoidGradient(z_list[l - 1])
    return float(E), unrollParams(grads)
    ### END SOLUTION


# %% role="notebook" part="squaredErrorCostFunction"
E_deep, gradE_deep = squaredErrorCostFunction(params_deep, sizes_deep, X_deep, y_deep)
numgradE = computeNumericalGradient(
    lambda p: squaredErrorCostFunction(p, sizes_deep, X_deep, y_deep), params_deep
)
print(
    f"E = {E_deep:.6f}, relative difference {np.linalg.norm(numgradE - gradE_deep) / np.linalg.norm(numgradE + gradE_deep):.2e}"
)

# %% role="check" part="squaredErrorCostFunction"
check("squaredErrorCostFunction")

# %% [markdown] lang="en" part="predict"
# ## Part 10 · {{title:predict}} ({{points:predict}} points)
#
# A trained network predicts the label whose output unit is largest:
# $\hat{y} = \arg\max_k \left(h_\Theta(x)\right)_k$. Implement `predict(Theta1, Theta2, X)` for the
# 3-layer network; it returns labels $0..K-1$ as an integer array of shape $(m,)$.

# %% [markdown] lang="zh" part="predict"
# ## 第 10 部分 · {{title:predict}}（{{points:predict}} 分）
#
# 训练好的网络预测输出最大的那个节点对应的类别：$\hat{y} = \arg\max_k \left(h_\Theta(x)\right)_k$。
# 为三层网络实现 `predict(Theta1, Theta2, X)`，返回形状为 $(m,)$、取值 $0..K-1$ 的整数数组。


# %% role="module" part="predict"
def predict(Theta1: np.ndarray, Theta2: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Labels predicted by a trained 3-layer network: argmax_k h_Theta(x)_k.
    用训练好的三层网络预测类别。

    Parameters
    ----------
    Theta1 : ndarray of shape (s2, s1 + 1)
    Theta2 : ndarray of shape (K, s2 + 1)
    X : ndarray of shape (m, s1)

    Returns
    -------
    p : ndarray of int, shape (m,), labels in 0..K-1
    """
    X = np.asarray(X, dtype=float)
    m = X.shape[0]
    ### BEGIN SOLUTION
    hidden = sigmoid(np.hstack([np.ones((m, 1)), X]) @ Theta1.T)
    # g is increasing, so argmax over z3 equals argmax over h = g(z3), and z3 does not tie
    # when several outputs round to 1.0.
    z3 = np.hstack([np.ones((m, 1)), hidden]) @ Theta2.T
    return np.argmax(z3, axis=1)
    ### END SOLUTION


# %% role="check" part="predict"
check("predict")

# %% [markdown] lang="en" part="gradientDescent"
# ## Part 11 · {{title:gradientDescent}} ({{points:gradientDescent}} points)
#
# Training minimizes $J(\Theta)$. The lecture's update, for every weight at once:
#
# $$\Theta_{ij}^{(l)}(t+1) := \Theta_{ij}^{(l)}(t) - \alpha \frac{\partial J(\Theta)}{\partial \Theta_{ij}^{(l)}} .$$
#
# The lecture's pseudo-code updates after every example (stochastic); here we use the full-batch
# version, where the gradient is $D^{(l)}$ over all $m$ examples. Implement
# `gradientDescent(costFunction, initial_params, alpha, num_iters)`: `costFunction(params)` returns
# `(J, grad)`; do `num_iters` steps and record `J_history[i]` = **the cost before step $i$** (so
# `J_history[0]` is the cost at `initial_params`). Do not modify `initial_params` in place.

# %% [markdown] lang="zh" part="gradientDescent"
# ## 第 11 部分 · {{title:gradientDescent}}（{{points:gradientDescent}} 分）
#
# 训练就是最小化 $J(\Theta)$。课件中的更新公式（对所有权重同时更新）：
#
# $$\Theta_{ij}^{(l)}(t+1) := \Theta_{ij}^{(l)}(t) - \alpha \frac{\partial J(\Theta)}{\partial \Theta_{ij}^{(l)}} .$$
#
# 课件的伪代码每个样本更新一次（随机梯度下降）；这里使用批量版本，梯度是全部 $m$ 个样本上的 $D^{(l)}$。
# 实现 `gradientDescent(costFunction, initial_params, alpha, num_iters)`：`costFunction(params)` 返回 `(J, grad)`；
# 迭代 `num_iters` 步，并记录 `J_history[i]` = **第 $i$ 步更新之前的代价**（所以 `J_history[0]` 是 `initial_params` 处的代价）。
# 不要原地修改 `initial_params`。


# %% role="module" part="gradientDescent"
def gradientDescent(
    costFunction: Callable[[np.ndarray], tuple[float, np.ndarray]],
    initial_params: np.ndarray,
    alpha: float,
    num_iters: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Batch gradient descent: params := params - alpha * grad, num_iters times.
    批量梯度下降。

    Parameters
    ----------
    costFunction : callable, costFunction(params) -> (J, grad), grad shaped like params
    initial_params : ndarray of shape (n,), not modified
    alpha : float, the learning rate
    num_iters : int, the number of steps

    Returns
    -------
    params : ndarray of shape (n,), the parameters after num_iters steps
    J_history : ndarray of shape (num_iters,), J_history[i] = the cost before step i
    """
    params = np.array(initial_params, dtype=float)  # a copy: never change the caller's array
    J_history = np.zeros(num_iters)
    ### BEGIN SOLUTION
    for i in range(num_iters):
        J, grad = costFunction(params)
        J_history[i] = float(J)
        params = params - alpha * np.reshape(grad, params.shape)
    ### END SOLUTION
    return params, J_history


# %% role="check" part="gradientDescent"
check("gradientDescent")

# %% [markdown] lang="en"
# ## Training on real handwritten digits
#
# Time to use everything. scikit-learn ships a small set of 1 797 handwritten digits, 8×8 pixels
# (no download needed). We scale the pixels to $[0, 1]$, hold out 297 digits as a test set, and
# train a $64 - 25 - 10$ network (1 885 parameters) twice:
#
# 1. with your `gradientDescent` (the lecture's update rule), and
# 2. with the **conjugate gradient** method, `scipy.optimize.minimize(method="CG")`, which also only
#    needs $J$ and its gradient (from your backpropagation) but chooses its steps much better.
#
# The learning curves show $J$ per iteration. Expect CG to reach a lower cost in fewer iterations.

# %% [markdown] lang="zh"
# ## 在真实手写数字上训练
#
# 现在把所有内容用起来。scikit-learn 自带一个小型手写数字数据集：1 797 张 8×8 像素的图片（无需下载）。
# 我们把像素缩放到 $[0, 1]$，留出 297 张作为测试集，训练一个 $64 - 25 - 10$ 的网络（1 885 个参数），训练两次：
#
# 1. 使用你的 `gradientDescent`（课件中的更新规则）；
# 2. 使用**共轭梯度法**（梯度共轭法）`scipy.optimize.minimize(method="CG")`：它同样只需要 $J$ 及其梯度（来自你的反向传递），
#    但步长选得好得多。
#
# 学习曲线显示每次迭代的 $J$。预期 CG 用更少的迭代达到更低的代价。

# %% role="notebook"
from scipy.optimize import minimize
from sklearn.datasets import load_digits


def loadDigits(n_train=1500, seed=0):
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], shuffled and split into train/test."""
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target  # (1797, 64), labels 0..9
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


X_train, y_train, X_test, y_test = loadDigits()

fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for ax, image, label in zip(axes, X_train[:10], y_train[:10]):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(str(label))
    ax.axis("off")
plt.show()

# %% role="notebook"
s1, s2, K = 64, 25, 10
lambda_train = 1.0
np.random.seed(42)
initial_params = np.concatenate(
    [randInitializeWeights(s1, s2).ravel(), randInitializeWeights(s2, K).ravel()]
)


def trainingCost(p):
    return nnCostFunction(p, s1, s2, K, X_train, y_train, lambda_train)


def accuracy(params, X, y):
    Theta1 = params[: s2 * (s1 + 1)].reshape(s2, s1 + 1)
    Theta2 = params[s2 * (s1 + 1) :].reshape(K, s2 + 1)
    return 100.0 * np.mean(predict(Theta1, Theta2, X) == y)


params_gd, J_gd = gradientDescent(
    trainingCost, initial_params, alpha=2.0, num_iters=30 if FAST else 400
)
print(f"gradient descent, {len(J_gd)} iterations: J = {trainingCost(params_gd)[0]:.4f}")

# %% role="notebook"
J_cg = []  # the cost after each CG iteration, for the learning curve
result = minimize(
    trainingCost,
    initial_params,
    jac=True,  # trainingCost returns (J, grad)
    method="CG",
    callback=lambda p: J_cg.append(trainingCost(p)[0]),
    options={"maxiter": 20 if FAST else 150},
)
print(f"conjugate gradient, {result.nit} iterations: J = {result.fun:.4f}")

plt.figure(figsize=(6, 4))
plt.plot(np.arange(len(J_gd)), J_gd, label="gradient descent")
plt.plot(np.arange(1, len(J_cg) + 1), J_cg, label="conjugate gradient (scipy CG)")
plt.xlabel("iteration")
plt.ylabel("J(Theta)")
plt.yscale("log")
plt.title("Learning curves")
plt.legend()
plt.show()

# %% [markdown] lang="en"
# ## Prediction accuracy
#
# Accuracy on the training digits and on the 297 held-out digits. With the full iteration counts
# expect roughly 90 %+ for gradient descent and 95 %+ for CG on the test set. Try other values of
# `lambda_train`, `s2` and `alpha`: which one overfits? Which one diverges?

# %% [markdown] lang="zh"
# ## 预测准确率
#
# 训练集与 297 张留出测试图片上的准确率。使用完整的迭代次数时，测试集准确率预计梯度下降约 90% 以上、CG 约 95% 以上。
# 试试改变 `lambda_train`、`s2` 和 `alpha`：哪种设置会过拟合？哪种会发散？

# %% role="notebook"
for name, params in [("gradient descent", params_gd), ("conjugate gradient", result.x)]:
    print(
        f"{name:>20}: train {accuracy(params, X_train, y_train):5.1f} %   test {accuracy(params, X_test, y_test):5.1f} %"
    )

# %% [markdown] lang="en"
# ## Summary
#
# * The cost: cross-entropy (or squared error) plus regularization, bias excluded.
# * Backpropagation: $\delta^{(L)} = a^{(L)} - y$ (cross-entropy), $\delta^{(l)} = (\Theta^{(l)})^\top \delta^{(l+1)} .* g'(z^{(l)})$,
#   $D^{(l)} = \frac{1}{m}\Delta^{(l)} + \frac{\lambda}{m}\Theta^{(l)}$ ($j \neq 0$).
# * It decomposes the output error onto every node — hidden nodes included — which is what lets
#   gradient descent (or conjugate gradient) adjust every weight.
# * Always check it against numerical gradients on a small network first.
#
# Before submitting, run `python check.py backprop.ipynb` (or `python check.py nn.py`).

# %% [markdown] lang="zh"
# ## 小结
#
# * 代价函数：交叉熵（或误差平方和）加正则项，偏置不参与正则化。
# * BP 算法：$\delta^{(L)} = a^{(L)} - y$（交叉熵），$\delta^{(l)} = (\Theta^{(l)})^\top \delta^{(l+1)} .* g'(z^{(l)})$，
#   $D^{(l)} = \frac{1}{m}\Delta^{(l)} + \frac{\lambda}{m}\Theta^{(l)}$（$j \neq 0$）。
# * 它把分类器的误差（即输出层节点的误差）分解到各节点、包括隐含层节点的输出上，再用这些误差求解各输入（连接）的权重的梯度，
#   从而可以用梯度下降（或共轭梯度法）调整每个权重。
# * 一定要先在小网络上用数值梯度检验它。
#
# 提交前请运行 `python check.py backprop.ipynb`（或 `python check.py nn.py`）。

# %% [markdown] lang="en"
# ## Submit
#
# **Save the notebook first** (Ctrl+S, or File ▸ Save), then remove the `#` in front of
# `submit("backprop.ipynb")` below and run the cell: it sends the file on disk, `backprop.ipynb`,
# not what this kernel holds (Run All never submits for you). It prints your score per part once
# the course server has graded it, and the address of the page with the full feedback. The first
# time, it asks for the token your instructor gives you. `python submit.py backprop.ipynb` does the
# same from a terminal (see `README.md`).

# %% [markdown] lang="zh"
# ## 提交作业
#
# **请先保存 notebook**（Ctrl+S，或“文件 ▸ 保存”），然后删去下面 `submit("backprop.ipynb")` 前的 `#` 并运行该单元格：
# 它提交的是磁盘上的 `backprop.ipynb` 文件，而不是当前内核中的内容（“全部运行”不会替你提交）。课程服务器评分完成后，它会打印每个部分的得分以及完整反馈页面的地址。第一次运行时，
# 它会询问任课教师发给你的令牌（token）。在终端运行 `python submit.py backprop.ipynb` 的效果相同（见 `README.md`）。

# %% role="notebook"
try:
    from submit import submit  # submit.py lives next to this notebook
except ImportError:  # the notebook was copied elsewhere (or this is the instructor's source)
    print("submit.py is not next to this notebook: run it in the homework's folder")
    print("submit.py 不在本 notebook 所在的目录中：请在作业目录中运行本 notebook")

# submit("backprop.ipynb")
