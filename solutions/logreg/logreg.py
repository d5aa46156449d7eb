# ruff: noqa: E402, I001  (a notebook as a script: imports sit in the cells that teach them)
# Instructor source for the logreg homework (the lecture's first formula, after Andrew Ng's ex2).
#
# ONE file yields, for each language (en, zh):
#   assignments/logreg/<lang>/logreg.py     the student module (stubs)
#   assignments/logreg/<lang>/logreg.ipynb  the notebook handout (stubs)
#   assignments/logreg/<lang>/README.md     the release's README
# with `bpgrade release logreg`. The format is the backprop homework's (see
# solutions/backprop/backprop.py and docs/writing-a-homework.md): `# %%` cells with a `role`
# ("module", "module-only", "notebook", "check", "readme"), a `lang` for text, a `part` tying a cell
# to autograder/homeworks/logreg/spec.toml, {{placeholders}} filled from the spec, and solution
# code between `### BEGIN SOLUTION` and `### END SOLUTION`.
#
# The solution with its markers removed is numpy-only and standalone (it never imports bpnet_ref).
# Running this file with python3 runs the whole notebook (training included) as a script.

# %% [markdown] role="readme" lang="en"
# # Homework: logistic regression (ex2)
#
# The lecture's first formula, the regularized logistic-regression cost $J(\theta)$ (Andrew Ng's
# ex2). Total: {{total_points}} points.
#
# | file | what it is |
# |---|---|
# | `logreg.ipynb` | the handout: the formulas, your code, a check cell per part, training on real data with a decision-boundary plot |
# | `logreg.py` | the same functions as a plain module, if you prefer an editor to Jupyter |
# | `check.py` | runs the public test cases on your work and prints a per-part table |
# | `submit.py` | submits your work to the course server and prints your grade per part |
#
# Submit **either** `logreg.py` **or** `logreg.ipynb` (the grader accepts both).
#
# ## What you implement
#
# {{parts_table}}
#
# Write your code between the `START OF YOUR CODE` / `END OF YOUR CODE` lines; do not rename the
# functions or change their signatures. Conventions: `X` is $(m, n)$ with the column of ones
# already added, `theta` is $(n,)$, labels `y` are **0 or 1** (shape `(m,)` or `(m, 1)`), and
# $\theta_0$ is never regularized.
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
# python check.py                      # checks logreg.py
# python check.py logreg.ipynb         # checks the notebook
# python check.py logreg.py --part costFunctionReg
# ```
#
# Your code runs in a separate, sandboxed process on the *public* cases only; the grade also uses
# hidden cases drawn for you, so passing every public case is necessary, not sufficient.
#
# The notebook uses numpy, scipy, matplotlib and scikit-learn (its bundled breast-cancer and iris
# data, no download).
#
# ## Submitting
#
# {{submit}}

# %% [markdown] role="readme" lang="zh"
# # 作业：逻辑回归 (ex2)
#
# 课程的第一个公式：带正则化的逻辑回归代价函数 $J(\theta)$（吴恩达 ex2）。总分 {{total_points}} 分。
#
# | 文件 | 说明 |
# |---|---|
# | `logreg.ipynb` | 作业讲义：公式、你要写的代码、每个部分的自测单元、在真实数据上训练并画出决策边界 |
# | `logreg.py` | 同样的函数，写成普通的 Python 模块，喜欢用编辑器的同学可以直接改它 |
# | `check.py` | 用公开测试用例检查你的代码，并按部分打印结果表 |
# | `submit.py` | 把作业提交到课程服务器，并按部分打印得分 |
#
# 提交 `logreg.py` **或** `logreg.ipynb` 中的**一个**即可（两种格式评分程序都接受）。
#
# ## 需要实现的内容
#
# {{parts_table}}
#
# 请把代码写在 `你的代码从这里开始` 与 `你的代码到此结束` 两行之间；不要修改函数名和参数。约定：`X` 的形状为
# $(m, n)$，已经加上了全为 1 的第一列；`theta` 的形状为 $(n,)$；标签 `y` 为 **0 或 1**（形状 `(m,)` 或
# `(m, 1)`）；$\theta_0$ 不参与正则化。
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
# python check.py                      # 检查 logreg.py
# python check.py logreg.ipynb         # 检查 notebook
# python check.py logreg.py --part costFunctionReg
# ```
#
# 你的代码在独立的沙箱进程中运行，只使用**公开**测试用例；正式评分还会使用为你单独生成的隐藏用例，
# 所以通过全部公开用例是必要条件，而不是充分条件。
#
# notebook 需要 numpy、scipy、matplotlib 和 scikit-learn（使用其自带的乳腺癌与鸢尾花数据，无需下载）。
#
# ## 提交作业
#
# {{submit}}

# %% role="module-only"
"""Homework: logistic regression (after Andrew Ng's ex2).
作业：逻辑回归（吴恩达 ex2）。

Implement every function whose body holds a START/END OF YOUR CODE block. Conventions:

* X is (m, n), one example per row, the column of ones (intercept) already added.
* theta is (n,); labels y are 0 or 1, shape (m,) or (m, 1); theta[0] is never regularized.

约定：X 每行一个样本，已含全 1 列；标签为 0/1；theta[0] 不参与正则化。
Check your work with ``python check.py logreg.py`` (needs the bpgrade package).
"""

# %% [markdown] lang="en"
# # Logistic regression (ex2)
#
# *The lecture's first formula. After Andrew Ng's Coursera course.*
#
# Logistic regression predicts a probability $h_\theta(x) = g(\theta^\top x)$ with the sigmoid
# $g$, and learns $\theta$ by minimizing the cross-entropy cost. It is the network of the next
# homework without a hidden layer: the network's cost $J(\Theta)$ generalizes this one.
#
# {{parts_table}}
#
# **How to work.** Write your code between the `START OF YOUR CODE` and `END OF YOUR CODE` lines,
# run the cell, then run the check cell below it (public cases only; the grade also uses hidden
# ones). Do not rename functions or change their signatures. Submit this notebook or `logreg.py`.
#
# **The grader's rules:**
#
# {{grader_rules}}

# %% [markdown] lang="zh"
# # 逻辑回归 (ex2)
#
# *课程的第一个公式。本节内容来自吴恩达 Coursera 网课。*
#
# 逻辑回归用 sigmoid 函数 $g$ 预测概率 $h_\theta(x) = g(\theta^\top x)$，并通过最小化交叉熵代价来学习
# $\theta$。它就是下一份作业中的神经网络去掉隐含层的样子：网络的代价函数 $J(\Theta)$ 正是它的推广。
#
# {{parts_table}}
#
# **怎样完成作业。** 把代码写在 `你的代码从这里开始` 和 `你的代码到此结束` 两行之间，运行该单元格，再运行它下面的自测单元
# （只用公开用例；最终成绩还会使用隐藏用例）。不要修改函数名或参数。提交本 notebook 或 `logreg.py` 均可。
#
# **评分规则：**
#
# {{grader_rules}}

# %% role="module"
import numpy as np

# %% [markdown] lang="en"
# ## Setup
#
# `check("part")` runs that part's public cases on the functions defined in this notebook; it needs
# the `bpgrade` package (see `README.md`) and otherwise just says so.

# %% [markdown] lang="zh"
# ## 准备工作
#
# `check("部分名")` 会用公开测试用例检查本 notebook 中定义的函数；它需要安装 `bpgrade` 包（见 `README.md`），
# 没有安装时只会给出提示。

# %% role="notebook"
import matplotlib.pyplot as plt

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
# $$h_\theta(x) = g(\theta^\top x), \qquad g(z) = \frac{1}{1 + e^{-z}}.$$
#
# Implement `sigmoid(z)` for a scalar or an array of any shape (elementwise). Large $|z|$ must
# work: `sigmoid(np.array([-1000., 0., 1000.]))` is `[0, 0.5, 1]`.

# %% [markdown] lang="zh" part="sigmoid"
# ## 第 1 部分 · {{title:sigmoid}}（{{points:sigmoid}} 分）
#
# $$h_\theta(x) = g(\theta^\top x), \qquad g(z) = \frac{1}{1 + e^{-z}}.$$
#
# 实现 `sigmoid(z)`：输入可以是标量或任意形状的数组（逐元素计算）。$|z|$ 很大时也必须正确：
# `sigmoid(np.array([-1000., 0., 1000.]))` 应为 `[0, 0.5, 1]`。


# %% role="module" part="sigmoid"
def sigmoid(z):
    """Sigmoid, elementwise: g(z) = 1 / (1 + exp(-z)).
    Sigmoid 函数（逐元素）。

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

# %% [markdown] lang="en" part="costFunction"
# ## Part 2 · {{title:costFunction}} ({{points:costFunction}} points)
#
# With $h = g(X\theta)$ for all $m$ examples at once,
#
# $$J(\theta) = \frac{1}{m}\sum_{i=1}^{m}\Bigl[-y^{(i)}\log h^{(i)} - \bigl(1 - y^{(i)}\bigr)\log\bigl(1 - h^{(i)}\bigr)\Bigr],
# \qquad \frac{\partial J}{\partial \theta_j} = \frac{1}{m}\sum_{i=1}^{m}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_j,$$
#
# that is $\nabla J = \frac{1}{m} X^\top (h - y)$. Implement `costFunction(theta, X, y)` returning
# `(J, grad)` with `grad` of the shape of `theta`. Labels are 0 or 1 and may come as a column
# `(m, 1)`: flatten them first. Check: with $\theta = 0$, $h = 0.5$ and $J = \log 2 \approx 0.693147$.

# %% [markdown] lang="zh" part="costFunction"
# ## 第 2 部分 · {{title:costFunction}}（{{points:costFunction}} 分）
#
# 令 $h = g(X\theta)$（一次算出全部 $m$ 个样本），
#
# $$J(\theta) = \frac{1}{m}\sum_{i=1}^{m}\Bigl[-y^{(i)}\log h^{(i)} - \bigl(1 - y^{(i)}\bigr)\log\bigl(1 - h^{(i)}\bigr)\Bigr],
# \qquad \frac{\partial J}{\partial \theta_j} = \frac{1}{m}\sum_{i=1}^{m}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_j,$$
#
# 即 $\nabla J = \frac{1}{m} X^\top (h - y)$。实现 `costFunction(theta, X, y)`，返回 `(J, grad)`，`grad` 的形状与
# `theta` 相同。标签为 0 或 1，也可能是列向量 `(m, 1)`：请先把它展平。验证：$\theta = 0$ 时 $h = 0.5$，
# $J = \log 2 \approx 0.693147$。


# %% role="module" part="costFunction"
def costFunction(theta, X, y):
    """Cross-entropy cost of logistic regression and its gradient.
    逻辑回归的交叉熵代价及其梯度。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n), the column of ones included
    y : ndarray, (m,) or (m, 1), labels 0 or 1

    Returns
    -------
    J : float
    grad : ndarray, (n,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    m = y.size
    ### BEGIN SOLUTION
    h = sigmoid(X @ theta)
    J = float(-(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m)
    grad = X.T @ (h - y) / m
    ### END SOLUTION
    return J, grad


# %% role="notebook" part="costFunction"
X_demo = np.column_stack([np.ones(4), [1.0, 2.0, -1.0, 0.5], [0.5, -1.0, 2.0, 1.0]])
y_demo = np.array([1.0, 0.0, 1.0, 0.0])
print(costFunction(np.zeros(3), X_demo, y_demo))  # J = 0.693147...

# %% role="check" part="costFunction"
check("costFunction")

# %% [markdown] lang="en" part="costFunctionReg"
# ## Part 3 · {{title:costFunctionReg}} ({{points:costFunctionReg}} points)
#
# Regularization adds a penalty on every parameter **except** $\theta_0$ (the intercept):
#
# $$J(\theta) = \frac{1}{m}\sum_{i=1}^{m}\Bigl[-y^{(i)}\log h^{(i)} - \bigl(1 - y^{(i)}\bigr)\log\bigl(1 - h^{(i)}\bigr)\Bigr] + \frac{\lambda}{2m}\sum_{j=1}^{n-1}\theta_j^2,$$
#
# $$\frac{\partial J}{\partial \theta_0} = \frac{1}{m}\sum_{i}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_0, \qquad
# \frac{\partial J}{\partial \theta_j} = \frac{1}{m}\sum_{i}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_j + \frac{\lambda}{m}\theta_j \quad (j \ge 1).$$
#
# Note the two different factors: $\frac{\lambda}{2m}$ in $J$, $\frac{\lambda}{m}$ in the gradient.
# Implement `costFunctionReg(theta, X, y, lambda_)`; you may call your `costFunction`.

# %% [markdown] lang="zh" part="costFunctionReg"
# ## 第 3 部分 · {{title:costFunctionReg}}（{{points:costFunctionReg}} 分）
#
# 正则化对**除** $\theta_0$（截距）以外的每个参数加上惩罚：
#
# $$J(\theta) = \frac{1}{m}\sum_{i=1}^{m}\Bigl[-y^{(i)}\log h^{(i)} - \bigl(1 - y^{(i)}\bigr)\log\bigl(1 - h^{(i)}\bigr)\Bigr] + \frac{\lambda}{2m}\sum_{j=1}^{n-1}\theta_j^2,$$
#
# $$\frac{\partial J}{\partial \theta_0} = \frac{1}{m}\sum_{i}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_0, \qquad
# \frac{\partial J}{\partial \theta_j} = \frac{1}{m}\sum_{i}\bigl(h^{(i)} - y^{(i)}\bigr)x^{(i)}_j + \frac{\lambda}{m}\theta_j \quad (j \ge 1).$$
#
# 注意两个不同的系数：$J$ 中是 $\frac{\lambda}{2m}$，梯度中是 $\frac{\lambda}{m}$。实现
# `costFunctionReg(theta, X, y, lambda_)`；可以调用你的 `costFunction`。


# %% role="module" part="costFunctionReg"
def costFunctionReg(theta, X, y, lambda_):
    """Regularized cost and gradient; theta[0] is not regularized.
    带正则化的代价与梯度；theta[0] 不参与正则化。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n), the column of ones included
    y : ndarray, (m,) or (m, 1), labels 0 or 1
    lambda_ : float, the regularization strength λ

    Returns
    -------
    J : float
    grad : ndarray, (n,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    m = np.asarray(y).size
    ### BEGIN SOLUTION
    J, grad = costFunction(theta, X, y)
    reg = theta.copy()
    reg[0] = 0.0  # theta_0 is not regularized
    J = J + lambda_ / (2 * m) * float(reg @ reg)
    grad = grad + lambda_ / m * reg
    ### END SOLUTION
    return J, grad


# %% role="check" part="costFunctionReg"
check("costFunctionReg")

# %% [markdown] lang="en" part="mapFeature"
# ## Part 4 · {{title:mapFeature}} ({{points:mapFeature}} points)
#
# A straight line cannot separate every data set. ex2 maps two inputs to all their monomials up to
# a degree, the column of ones first, in this order:
#
# $$\text{mapFeature}(x_1, x_2) = \bigl[1,\ x_1,\ x_2,\ x_1^2,\ x_1x_2,\ x_2^2,\ x_1^3,\ \dots,\ x_1x_2^5,\ x_2^6\bigr],$$
#
# i.e. for $i = 0, \dots, \text{degree}$ and $j = 0, \dots, i$: the column $x_1^{i-j}x_2^{j}$.
# With degree 6 that is 28 columns. Implement `mapFeature(x1, x2, degree=6)` for vectors of shape
# `(m,)` or `(m, 1)`, returning an `(m, (degree+1)(degree+2)/2)` array.

# %% [markdown] lang="zh" part="mapFeature"
# ## 第 4 部分 · {{title:mapFeature}}（{{points:mapFeature}} 分）
#
# 直线并不能分开所有的数据集。ex2 把两个输入映射为不超过某个次数的全部单项式，第一列是全 1 列，顺序如下：
#
# $$\text{mapFeature}(x_1, x_2) = \bigl[1,\ x_1,\ x_2,\ x_1^2,\ x_1x_2,\ x_2^2,\ x_1^3,\ \dots,\ x_1x_2^5,\ x_2^6\bigr],$$
#
# 即对 $i = 0, \dots, \text{degree}$ 与 $j = 0, \dots, i$，依次取列 $x_1^{i-j}x_2^{j}$。次数为 6 时共 28 列。实现
# `mapFeature(x1, x2, degree=6)`，输入为形状 `(m,)` 或 `(m, 1)` 的向量，返回形状为 `(m, (degree+1)(degree+2)/2)` 的数组。


# %% role="module" part="mapFeature"
def mapFeature(x1, x2, degree=6):
    """Polynomial features of two inputs up to ``degree``, the column of ones first.
    两个输入的多项式特征（最高 degree 次），第一列为全 1 列。

    Parameters
    ----------
    x1, x2 : ndarray, (m,) or (m, 1)
    degree : int

    Returns
    -------
    ndarray, (m, (degree + 1) * (degree + 2) // 2)
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    ### BEGIN SOLUTION
    columns = [x1 ** (i - j) * x2**j for i in range(degree + 1) for j in range(i + 1)]
    return np.column_stack(columns)
    ### END SOLUTION


# %% role="notebook" part="mapFeature"
print(mapFeature(np.array([0.5]), np.array([2.0]), degree=2))  # [[1, 0.5, 2, 0.25, 1, 4]]

# %% role="check" part="mapFeature"
check("mapFeature")

# %% [markdown] lang="en" part="predict"
# ## Part 5 · {{title:predict}} ({{points:predict}} points)
#
# Predict $1$ where $h_\theta(x) = g(\theta^\top x) \ge 0.5$, that is where $\theta^\top x \ge 0$,
# and $0$ elsewhere. Implement `predict(theta, X)` returning integer labels 0/1 of shape `(m,)`.

# %% [markdown] lang="zh" part="predict"
# ## 第 5 部分 · {{title:predict}}（{{points:predict}} 分）
#
# 当 $h_\theta(x) = g(\theta^\top x) \ge 0.5$（即 $\theta^\top x \ge 0$）时预测 $1$，否则预测 $0$。实现
# `predict(theta, X)`，返回形状为 `(m,)` 的 0/1 整数标签。


# %% role="module" part="predict"
def predict(theta, X):
    """0/1 predictions: 1 where sigmoid(X @ theta) >= 0.5.
    预测 0/1 标签：sigmoid(X @ theta) >= 0.5 处为 1。

    Parameters
    ----------
    theta : ndarray, (n,)
    X : ndarray, (m, n)

    Returns
    -------
    p : ndarray of int, (m,)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    ### BEGIN SOLUTION
    return (sigmoid(X @ theta) >= 0.5).astype(int)
    ### END SOLUTION


# %% role="check" part="predict"
check("predict")

# %% [markdown] lang="en"
# ## Training on real data: a linear decision boundary
#
# scikit-learn ships the Wisconsin breast-cancer data (569 tumours, nothing is downloaded). We
# keep two standardized features, *mean radius* and *mean texture*, add the column of ones, and let
# `scipy.optimize.minimize` (BFGS, ex2's `fminunc`) minimize your `costFunction` with its gradient
# (`jac=True`). The decision boundary is the line $\theta^\top x = 0$.

# %% [markdown] lang="zh"
# ## 在真实数据上训练：线性决策边界
#
# scikit-learn 自带威斯康星乳腺癌数据（569 个肿瘤样本，无需下载）。我们取两个标准化后的特征 *mean radius* 与
# *mean texture*，加上全 1 列，用 `scipy.optimize.minimize`（BFGS，相当于 ex2 的 `fminunc`）以你的
# `costFunction` 及其梯度（`jac=True`）求最小值。决策边界就是直线 $\theta^\top x = 0$。

# %% role="notebook"
from scipy.optimize import minimize
from sklearn.datasets import load_breast_cancer, load_iris

cancer = load_breast_cancer()
features = cancer.data[:, :2]  # mean radius, mean texture
features = (features - features.mean(axis=0)) / features.std(axis=0)
y_cancer = (cancer.target == 0).astype(float)  # 1 = malignant
X_cancer = np.column_stack([np.ones(len(features)), features])

result = minimize(costFunction, np.zeros(3), args=(X_cancer, y_cancer), jac=True, method="BFGS")
theta_cancer = result.x
accuracy = 100 * np.mean(predict(theta_cancer, X_cancer) == y_cancer)
print(
    f"J = {result.fun:.4f}, theta = {np.round(theta_cancer, 3)}, training accuracy {accuracy:.1f} %"
)

# %% role="notebook"
fig, ax = plt.subplots(figsize=(5, 4))
for label, marker, name in [(1, "x", "malignant"), (0, "o", "benign")]:
    rows = y_cancer == label
    ax.scatter(features[rows, 0], features[rows, 1], marker=marker, s=12, label=name, alpha=0.6)
xs = np.array([features[:, 0].min(), features[:, 0].max()])
ax.plot(xs, -(theta_cancer[0] + theta_cancer[1] * xs) / theta_cancer[2], "k-", label="θᵀx = 0")
ax.set_xlabel("mean radius (standardized)")
ax.set_ylabel("mean texture (standardized)")
ax.set_ylim(features[:, 1].min() - 0.5, features[:, 1].max() + 0.5)
ax.legend()
plt.show()

# %% [markdown] lang="en"
# ## A curved boundary: mapFeature and regularization
#
# Iris *versicolor* flowers lie **between** the other two species in petal length and width, so no
# straight line separates them from the rest. Mapped to degree-6 polynomial features, logistic
# regression draws a closed boundary around them; $\lambda$ keeps it smooth. Try $\lambda = 0$
# (overfitting) and $\lambda = 100$ (underfitting).

# %% [markdown] lang="zh"
# ## 弯曲的边界：mapFeature 与正则化
#
# 鸢尾花中 *versicolor* 的花瓣长度与宽度位于另外两种**之间**，所以没有一条直线能把它与其余两种分开。映射为 6 次多项式
# 特征之后，逻辑回归可以画出把它们围起来的闭合边界；$\lambda$ 让边界保持平滑。试试 $\lambda = 0$（过拟合）与
# $\lambda = 100$（欠拟合）。

# %% role="notebook"
iris = load_iris()
petals = iris.data[:, 2:4]  # petal length, petal width
petals = (petals - petals.mean(axis=0)) / petals.std(axis=0)
y_iris = (iris.target == 1).astype(float)  # 1 = versicolor
X_iris = mapFeature(petals[:, 0], petals[:, 1])
lambda_ = 1.0

result = minimize(
    costFunctionReg,
    np.zeros(X_iris.shape[1]),
    args=(X_iris, y_iris, lambda_),
    jac=True,
    method="BFGS",
    options={"maxiter": 400},
)
theta_iris = result.x
accuracy = 100 * np.mean(predict(theta_iris, X_iris) == y_iris)
print(f"λ = {lambda_:g}: J = {result.fun:.4f}, training accuracy {accuracy:.1f} %")

# %% role="notebook"
u = np.linspace(petals[:, 0].min() - 0.5, petals[:, 0].max() + 0.5, 120)
v = np.linspace(petals[:, 1].min() - 0.5, petals[:, 1].max() + 0.5, 120)
U, V = np.meshgrid(u, v)
scores = (mapFeature(U.ravel(), V.ravel()) @ theta_iris).reshape(U.shape)
fig, ax = plt.subplots(figsize=(5, 4))
for label, marker, name in [(1, "x", "versicolor"), (0, "o", "setosa / virginica")]:
    rows = y_iris == label
    ax.scatter(petals[rows, 0], petals[rows, 1], marker=marker, s=14, label=name, alpha=0.7)
ax.contour(U, V, scores, levels=[0.0], colors="k")
ax.set_xlabel("petal length (standardized)")
ax.set_ylabel("petal width (standardized)")
ax.set_title(f"decision boundary, λ = {lambda_:g}")
ax.legend()
plt.show()

# %% [markdown] lang="en"
# ## Submit
#
# **Save the notebook first**, then remove the `#` in front of `submit("logreg.ipynb")` below and
# run the cell: it sends the file on disk, not what this kernel holds. `python submit.py
# logreg.ipynb` does the same from a terminal (see `README.md`).

# %% [markdown] lang="zh"
# ## 提交作业
#
# **请先保存 notebook**，然后删去下面 `submit("logreg.ipynb")` 前的 `#` 并运行该单元格：它提交的是磁盘上的文件，
# 而不是当前内核中的内容。在终端运行 `python submit.py logreg.ipynb` 的效果相同（见 `README.md`）。

# %% role="notebook"
try:
    from submit import submit  # submit.py lives next to this notebook
except ImportError:  # the notebook was copied elsewhere (or this is the instructor's source)
    print("submit.py is not next to this notebook: run it in the homework's folder")
    print("submit.py 不在本 notebook 所在的目录中：请在作业目录中运行本 notebook")

# submit("logreg.ipynb")
