"""Bilingual (en/zh) feedback strings.

Every student-facing sentence the grader writes comes from here, so the two languages stay in step
and the hidden-case wording (which must never carry values) is reviewed in one place.
"""

from __future__ import annotations

LANGS = ("en", "zh")

_MESSAGES: dict[str, dict[str, str]] = {
    # -- case outcomes -------------------------------------------------------------------------
    "passed": {"en": "passed", "zh": "通过"},
    # "en_plural": the English form for a plural {what} ("the predicted labels"; see PLURAL).
    "wrong_value": {
        "en": "{what} is incorrect",
        "en_plural": "{what} are incorrect",
        "zh": "{what}的数值不正确",
    },
    "wrong_value_public": {
        "en": "{what} is incorrect: expected {expected}, got {received} (max abs error {err})",
        "en_plural": "{what} are incorrect: expected {expected}, got {received} "
        "(max abs error {err})",
        "zh": "{what}的数值不正确：期望 {expected}，实际得到 {received}（最大绝对误差 {err}）",
    },
    "wrong_shape": {
        "en": "{what} has shape {received}, expected {expected}",
        "en_plural": "{what} have shape {received}, expected {expected}",
        "zh": "{what}的形状为 {received}，期望 {expected}",
    },
    # Hidden cases never show the received shape: the student chooses it, so it can carry data.
    "wrong_shape_hidden": {
        "en": "{what} has the wrong shape",
        "en_plural": "{what} have the wrong shape",
        "zh": "{what}的形状不正确",
    },
    "wrong_size": {
        "en": "{what} must be a single number, got an array of shape {received}",
        "zh": "{what}应该是一个数，实际得到形状为 {received} 的数组",
    },
    "wrong_size_hidden": {
        "en": "{what} must be a single number",
        "zh": "{what}应该是一个数",
    },
    "not_finite": {
        "en": "{what} contains NaN or inf",
        "en_plural": "{what} contain NaN or inf",
        "zh": "{what}含有 NaN 或 inf",
    },
    "not_integer": {
        "en": "{what} must hold integer labels 0..K-1",
        "zh": "{what}应为 0..K-1 的整数标签",
    },
    "exception": {
        "en": "raised {etype}",
        "zh": "抛出了 {etype} 异常",
    },
    "exception_public": {
        "en": "raised {etype}: {emsg}",
        "zh": "抛出了 {etype} 异常：{emsg}",
    },
    "not_implemented": {
        "en": "not implemented yet (raises NotImplementedError)",
        "zh": "尚未实现（抛出 NotImplementedError）",
    },
    "missing_function": {
        "en": "function {function}() is not defined in the submission",
        "zh": "提交中没有定义函数 {function}()",
    },
    "not_callable": {
        "en": "{function} is defined but is not a function",
        "zh": "{function} 已定义，但不是函数",
    },
    "timeout": {
        "en": "time limit exceeded ({seconds:g} s)",
        "zh": "超出时间限制（{seconds:g} 秒）",
    },
    "crash": {
        "en": "the submission's process crashed or exited",
        "zh": "提交的进程崩溃或退出",
    },
    "bad_result": {
        "en": "returned something that is not an array of numbers ({detail})",
        "zh": "返回值不是数值数组（{detail}）",
    },
    "result_too_large": {
        "en": "returned an array too large to grade",
        "zh": "返回的数组过大，无法评分",
    },
    "wrong_arity": {
        "en": "must return {n} values, e.g. (J, grad)",
        "zh": "应返回 {n} 个值，例如 (J, grad)",
    },
    "protocol_error": {
        "en": "invalid response from the submission's process",
        "zh": "提交的进程返回了无效的响应",
    },
    "budget_exhausted": {
        "en": "not run: the submission used up its total time budget",
        "zh": "未运行：提交已用完总时间预算",
    },
    "too_slow": {
        "en": "correct values, but far too slow ({seconds:.2f} s): this looks like finite differences, "
        "not backpropagation",
        "zh": "数值正确，但太慢（{seconds:.2f} 秒）：这看起来是数值差分，而不是反向传播",
    },
    "load_failed": {
        "en": "the submission could not be loaded: {detail}",
        "zh": "无法加载提交：{detail}",
    },
    # -- property checks ------------------------------------------------------------------------
    "init_out_of_range": {
        "en": "weights must lie in [-epsilon_init, epsilon_init]",
        "zh": "权重必须位于 [-epsilon_init, epsilon_init] 区间内",
    },
    "init_not_spread": {
        "en": "weights do not look uniform on [-epsilon_init, epsilon_init] (all equal, one-sided or "
        "too narrow)",
        "zh": "权重看起来不是 [-epsilon_init, epsilon_init] 上的均匀分布（全部相同、只在一侧或范围过窄）",
    },
    "history_length": {
        "en": "J_history must have num_iters = {n} entries, got {got}",
        "zh": "J_history 应有 num_iters = {n} 个元素，实际 {got} 个",
    },
    "history_length_hidden": {
        "en": "J_history must have num_iters entries",
        "zh": "J_history 应有 num_iters 个元素",
    },
    # -- diagnosis ------------------------------------------------------------------------------
    "misconception": {
        "en": "Your answer matches a known mistake: {name}",
        "zh": "你的答案与一个常见错误一致：{name}",
    },
    "dependency": {
        "en": "This part is wrong only because {dep}() is wrong: with a correct {dep}() it passes",
        "zh": "此部分出错只是因为 {dep}() 有误：换成正确的 {dep}() 后即可通过",
    },
    "then": {"en": "{first}. {second}", "zh": "{first}。{second}"},
    # -- whole submission -----------------------------------------------------------------------
    "part_passed": {"en": "all cases passed", "zh": "全部用例通过"},
    "demo_secret": {
        "en": "hidden cases use the built-in demo secret; set BPGRADE_SECRET for real grading",
        "zh": "隐藏用例使用内置的演示密钥；正式评分请设置 BPGRADE_SECRET",
    },
    # -- a module whose top-level code failed (graded from its definitions) -----------------
    "top_level_failed": {
        "en": (
            "the top-level code of your file failed when it was run ({detail}); your functions "
            "were graded anyway. Put demo, plotting and training code under "
            '`if __name__ == "__main__":` so it does not run when the file is imported'
        ),
        "zh": (
            "运行你文件的顶层代码时出错（{detail}）；你的函数仍然照常评分。请把演示、画图和训练代码放在 "
            '`if __name__ == "__main__":` 下面，这样导入文件时就不会运行'
        ),
    },
    "called_exit": {
        "en": "SystemExit: it called exit() or sys.exit()",
        "zh": "SystemExit：调用了 exit() 或 sys.exit()",
    },
    "ran_too_long": {
        "en": "it ran longer than the {seconds:g} s limit",
        "zh": "运行时间超过了 {seconds:g} 秒的限制",
    },
    # -- single precision (checks.py) -------------------------------------------------------
    "float32": {
        "en": "{what} agrees with the expected values only to float32 precision; compute in float64",
        "zh": "{what}只在 float32 精度内与期望值一致；请用 float64 计算",
    },
    "float32_hint": {
        "en": "Your values are float32 numbers, which lose digits here; compute in float64",
        "zh": "你的结果是 float32 数值，在这里会损失精度；请用 float64 计算",
    },
    "float32_accepted": {
        "en": (
            "your values agree to float32 precision, which this part accepts; compute in "
            "float64 (numpy's default) to match the reference exactly"
        ),
        "zh": "你的结果只在 float32 精度内一致，本部分接受；请用 float64（numpy 的默认类型）计算以与参考答案完全一致",
    },
    # -- feedback rough edges (issue 12) ---------------------------------------------------------
    # A case that earned part of its points (J right, gradient wrong, say: checks.COST_WEIGHT).
    "partial_case": {
        "en": "{first} (partial credit: {percent}% of this case's points)",
        "zh": "{first}（部分得分：获得本用例 {percent}% 的分数）",
    },
    # Labels are right or wrong, so the public message counts wrong ones instead of an error size.
    "wrong_labels_public": {
        "en": "{what} is incorrect: expected {expected}, got {received} ({wrong} of {total} wrong)",
        "en_plural": "{what} are incorrect: expected {expected}, got {received} "
        "({wrong} of {total} wrong)",
        "zh": "{what}不正确：期望 {expected}，实际得到 {received}（{total} 个中有 {wrong} 个错误）",
    },
    # Report renderings (autograder/report/): case tags, counts, a load failure stated once.
    "visibility_public": {"en": "public", "zh": "公开"},
    "visibility_hidden": {"en": "hidden", "zh": "隐藏"},
    "cases_partial": {
        "en": "{passed}/{total}, {partial} partly right",
        "zh": "{passed}/{total}，{partial} 个部分正确",
    },
    "partial_note": {
        "en": "partial credit: a case that is partly right (the cost J right but the gradient "
        "wrong, say) earns part of its points; each such case shows its share",
        "zh": "部分得分：部分正确的用例（例如代价 J 正确而梯度错误）可以得到该用例的一部分分数；"
        "每个这样的用例都注明了所得比例",
    },
    "load_failed_once": {
        "en": "No case could run: the submission could not be loaded (see the error above).",
        "zh": "没有任何用例能够运行：无法加载提交（错误见上方）。",
    },
    "text_title": {
        "en": "bpgrade — {submission} (student {student}, sandbox: {tier})",
        "zh": "bpgrade — {submission}（学生 {student}，沙箱：{tier}）",
    },
    # -- self-check without a sandbox (harness/local.py) ----------------------------------------
    "local_tier": {
        "en": "no sandbox on this machine: your code runs as a plain process; only public cases run",
        "zh": "本机没有沙箱：你的代码作为普通进程运行；只运行公开用例",
    },
    # -- submission intake: files and folders (autograder/intake.py) --------------------------
    "intake_not_found": {
        "en": "submission not found: {name}",
        "zh": "找不到提交：{name}",
    },
    "intake_symlink": {
        "en": "{name} is a symbolic link; submit the file itself",
        "zh": "{name} 是符号链接；请提交文件本身",
    },
    "intake_special": {
        "en": "{name} is not a regular file (a FIFO, device or socket)",
        "zh": "{name} 不是普通文件（而是 FIFO、设备或套接字）",
    },
    "intake_hard_link": {
        "en": "{name} is a hard link to another user's file",
        "zh": "{name} 是指向其他用户文件的硬链接",
    },
    "intake_unsupported": {
        "en": "unsupported file type {suffix}: submit nn.py or a .ipynb",
        "zh": "不支持的文件类型 {suffix}：请提交 nn.py 或 .ipynb 文件",
    },
    "intake_empty": {"en": "{name} is empty", "zh": "{name} 是空文件"},
    "intake_too_large": {
        "en": "{name} is {size} MiB; the limit is {limit} MiB",
        "zh": "{name} 大小为 {size} MiB，上限为 {limit} MiB",
    },
    "intake_binary": {
        "en": "{name} is a binary file, not Python source",
        "zh": "{name} 是二进制文件，不是 Python 源代码",
    },
    "intake_not_utf8": {
        "en": "{name} is not valid UTF-8 (byte {pos})",
        "zh": "{name} 不是有效的 UTF-8 编码（第 {pos} 个字节）",
    },
    "intake_unreadable": {
        "en": "{name} cannot be read ({reason})",
        "zh": "无法读取 {name}（{reason}）",
    },
    "intake_no_candidate": {
        "en": "folder {name} holds no .py or .ipynb file{skipped}",
        "zh": "文件夹 {name} 中没有 .py 或 .ipynb 文件{skipped}",
    },
    "intake_several": {
        "en": "folder {name} holds several candidates ({names}); name one nn.py",
        "zh": "文件夹 {name} 中有多个候选文件（{names}）；请将其中一个命名为 nn.py",
    },
    "intake_too_many_entries": {
        "en": "folder {name} holds more than {limit} entries; submit only your code and the data it reads",
        "zh": "文件夹 {name} 中的条目超过 {limit} 个；请只提交代码及其读取的数据",
    },
    "intake_skipped": {"en": "skipped {name}: {reason}", "zh": "已跳过 {name}：{reason}"},
    "intake_more_skipped": {
        "en": "{n} more entries were skipped",
        "zh": "另有 {n} 个条目被跳过",
    },
    "intake_renamed": {
        "en": "a file name was not valid UTF-8 (or not portable); it was read as {name}",
        "zh": "有文件名不是有效的 UTF-8（或不可移植）；已按 {name} 读取",
    },
    "intake_no_siblings": {
        "en": "only {name} was read, not the other files beside it: {reason}",
        "zh": "只读取了 {name}，未读取其旁边的其他文件：{reason}",
    },
    "skip_symlink": {
        "en": "a symbolic link (links are not followed)",
        "zh": "符号链接（不跟随链接）",
    },
    "skip_special": {
        "en": "not a regular file (a FIFO, device or socket)",
        "zh": "不是普通文件（FIFO、设备或套接字）",
    },
    "skip_hard_link": {
        "en": "a hard link to another user's file",
        "zh": "指向其他用户文件的硬链接",
    },
    "skip_unreadable": {"en": "cannot be read ({reason})", "zh": "无法读取（{reason}）"},
    "skip_duplicate": {
        "en": "another file has the same name once decoded",
        "zh": "解码后与另一个文件同名",
    },
    "skip_deep": {
        "en": "nested more than {limit} folders deep",
        "zh": "文件夹嵌套超过 {limit} 层",
    },
    "skip_dirs": {
        "en": "more than {limit} folders are not read",
        "zh": "超过 {limit} 个文件夹的部分不会被读取",
    },
    "skip_outside": {
        "en": "outside the folder of {main}",
        "zh": "不在 {main} 所在的文件夹中",
    },
    "skip_count": {
        "en": "at most {limit} files are read",
        "zh": "最多读取 {limit} 个文件",
    },
    "skip_size": {"en": "larger than {limit} MiB", "zh": "大于 {limit} MiB"},
    "skip_total": {
        "en": "at most {limit} MiB of files are read in all",
        "zh": "所有文件合计最多读取 {limit} MiB",
    },
    # -- randInitializeWeights must be random (issue 13, item 7d) ------------------------------
    "init_same_every_call": {
        "en": (
            "two calls with the same arguments returned the same weights: the weights must be "
            "random, so do not seed the generator inside the function (np.random.seed, "
            "default_rng(0))"
        ),
        "zh": "用相同参数调用两次，返回了相同的权重：权重必须是随机的，不要在函数内部设定随机种子（np.random.seed、default_rng(0)）",
    },
    "init_grid": {
        "en": (
            "weights are evenly spaced or take few distinct values (a grid such as np.linspace), "
            "not random numbers drawn from [-epsilon_init, epsilon_init]"
        ),
        "zh": "权重等间距或取值很少（例如 np.linspace 生成的网格），而不是从 [-epsilon_init, epsilon_init] 中抽取的随机数",
    },
    "init_ordered": {
        "en": "weights are sorted along the rows or the columns; random weights come in no order",
        "zh": "权重沿行或沿列是有序的；随机权重不应有顺序",
    },
    # -- imports the grader does not provide (autograder/imports.py) ----------------------------
    # Named from the submission's source, never from the child's text (hidden cases).
    "module_missing": {
        "en": "raised ModuleNotFoundError: {function}() uses {modules}, which the grader does "
        "not provide (it provides {provided} and the Python standard library)",
        "zh": "抛出了 ModuleNotFoundError 异常：{function}() 用到了 {modules}，评分环境没有提供"
        "（评分环境提供 {provided} 以及 Python 标准库）",
    },
    "module_missing_imports": {
        "en": "raised ModuleNotFoundError: your code imports {modules}, which the grader does not "
        "provide (it provides {provided} and the Python standard library)",
        "zh": "抛出了 ModuleNotFoundError 异常：你的代码导入了 {modules}，评分环境没有提供"
        "（评分环境提供 {provided} 以及 Python 标准库）",
    },
    "module_missing_unknown": {
        "en": "raised ModuleNotFoundError: your code uses a module the grader does not provide "
        "(it provides {provided} and the Python standard library)",
        "zh": "抛出了 ModuleNotFoundError 异常：你的代码用到了评分环境没有提供的模块"
        "（评分环境提供 {provided} 以及 Python 标准库）",
    },
    "module_missing_detail": {"en": "{message}. Details: {emsg}", "zh": "{message}。详情：{emsg}"},
    # -- hostile input around the sandbox: batch discovery, notebook caps (issue 13) -----------
    "discover_symlink": {
        "en": "symbolic links are not accepted as submissions; submit the file or folder itself",
        "zh": "不接受符号链接作为提交；请提交文件或文件夹本身",
    },
    "discover_special": {
        "en": "{name} is not a regular file or folder (a FIFO, device or socket)",
        "zh": "{name} 不是普通文件或文件夹（而是 FIFO、设备或套接字）",
    },
    "discover_unreadable": {
        "en": "{name} cannot be read",
        "zh": "无法读取 {name}",
    },
    "discover_several": {
        "en": "several submissions for one student ({names}); keep one",
        "zh": "同一学生有多份提交（{names}）；请只保留一份",
    },
    "batch_write_failed": {
        "en": "the grader could not write this submission's feedback ({etype}); ask your instructor",
        "zh": "评分程序无法写入此提交的反馈（{etype}）；请联系教师",
    },
    "batch_failed": {
        "en": "the grader failed on this submission ({etype}); ask your instructor",
        "zh": "评分程序在处理此提交时出错（{etype}）；请联系教师",
    },
    "notebook_not_json": {
        "en": "the notebook is not valid JSON: {detail}",
        "zh": "该 notebook 不是有效的 JSON：{detail}",
    },
    "notebook_not_object": {
        "en": "the notebook cannot be read: its JSON is not an object",
        "zh": "无法读取该 notebook：其 JSON 不是对象",
    },
    "notebook_bad_cells": {
        "en": "the notebook cannot be read: 'cells' is not a list of cells",
        "zh": "无法读取该 notebook：'cells' 不是单元格列表",
    },
    "notebook_unreadable": {
        "en": "the notebook cannot be read: {detail}",
        "zh": "无法读取该 notebook：{detail}",
    },
    "notebook_too_deep": {
        "en": "the notebook's JSON is nested more than {limit} levels deep; a notebook saved by "
        "Jupyter never is",
        "zh": "该 notebook 的 JSON 嵌套超过 {limit} 层；由 Jupyter 保存的 notebook 不会如此",
    },
    "notebook_too_many_values": {
        "en": "the notebook's JSON holds more than {limit} values; clear its outputs and submit again",
        "zh": "该 notebook 的 JSON 含有超过 {limit} 个值；请清除输出后重新提交",
    },
    "notebook_too_many_cells": {
        "en": "the notebook has more than {limit} code cells",
        "zh": "该 notebook 的代码单元格超过 {limit} 个",
    },
    "cell_syntax_error": {
        "en": "code cell {n} has a syntax error (line {line}) and was skipped",
        "zh": "第 {n} 个代码单元格有语法错误（第 {line} 行），已跳过",
    },
    "cell_too_large": {
        "en": "code cell {n} is too large to read ({what}; the limit is {limit}) and was skipped",
        "zh": "第 {n} 个代码单元格过大（{what}；上限为 {limit}），已跳过",
    },
    "cell_too_complex": {
        "en": "code cell {n} is nested too deeply to read and was skipped",
        "zh": "第 {n} 个代码单元格嵌套过深，无法读取，已跳过",
    },
    "cells_over_budget": {
        "en": "code cells from {n} on were skipped: the notebook holds more code than is graded "
        "({limit} in all)",
        "zh": "从第 {n} 个代码单元格起已跳过：该 notebook 的代码超过评分上限（合计 {limit}）",
    },
    # --- course server: HTTP API ---
    "server_unauthorized": {
        "en": "sign in: send your course token as 'Authorization: Bearer TOKEN'",
        "zh": "请登录：以 'Authorization: Bearer TOKEN' 发送你的课程令牌",
    },
    "server_bad_token": {
        "en": "this token is not a token of this course",
        "zh": "该令牌不属于本课程",
    },
    "server_students_only": {
        "en": "only students submit; sign in with a student token",
        "zh": "只有学生可以提交；请用学生令牌登录",
    },
    "server_instructors_only": {
        "en": "this needs the instructor token",
        "zh": "此操作需要教师令牌",
    },
    "server_not_found": {"en": "no such submission", "zh": "没有这个提交"},
    "server_csrf": {
        "en": "the form has expired; reload the page and try again",
        "zh": "表单已过期；请刷新页面后重试",
    },
    "server_no_file": {
        "en": "the request has no file in its 'file' field",
        "zh": "请求的 'file' 字段中没有文件",
    },
    "server_bad_file_type": {
        "en": "{name} is neither a .py file nor a .ipynb notebook",
        "zh": "{name} 既不是 .py 文件也不是 .ipynb notebook",
    },
    "server_too_large": {
        "en": "the file is larger than {limit}; submit only your code",
        "zh": "文件大于 {limit}；请只提交你的代码",
    },
    "server_rate_limited": {
        "en": "too many submissions in a minute; try again in {seconds} s",
        "zh": "一分钟内提交过多；请在 {seconds} 秒后重试",
    },
    "server_unknown_homework": {
        "en": "this course has no homework {name}; it has: {known}",
        "zh": "本课程没有作业 {name}；现有作业：{known}",
    },
    "server_superseded": {
        "en": "not graded: submission {id} replaced it while it was waiting",
        "zh": "未评分：等待期间已被提交 {id} 取代",
    },
    "server_grading_failed": {
        "en": "the grader failed on this submission (not your code's fault); your instructor can "
        "see why and regrade it",
        "zh": "评分程序处理此提交时出错（不是你的代码的问题）；教师可以查看原因并重新评分",
    },
    "server_regrade_running": {
        "en": "regrade {id} of this homework is not published yet; publish or wait for it first",
        "zh": "本作业的重新评分 {id} 尚未发布；请先发布或等待其完成",
    },
    "server_regrade_unfinished": {
        "en": "regrade {id} has {left} submissions still to grade",
        "zh": "重新评分 {id} 还有 {left} 份提交待评",
    },
    # --- course server: course and policy ---------------------------------------------------
    "submission_after_cutoff": {
        "en": "the cutoff for this homework ({cutoff}) has passed: no more submissions are accepted",
        "zh": "本次作业的最终截止时间（{cutoff}）已过，不再接受提交",
    },
    "submission_attempts_used_up": {
        "en": "you have used all {max_attempts} attempts for this homework",
        "zh": "你已用完本次作业的全部 {max_attempts} 次提交机会",
    },
    "submission_late": {
        "en": "submitted {days} day(s) late: {percent}% of the score counts",
        "zh": "迟交 {days} 天：成绩按 {percent}% 计",
    },
    # --- course server: pages ---
    "page_sign_in": {"en": "Sign in", "zh": "登录"},
    "page_sign_out": {"en": "Sign out", "zh": "退出登录"},
    "page_sign_in_intro": {
        "en": "Sign in with the course token your instructor gave you.",
        "zh": "请用教师发给你的课程令牌登录。",
    },
    "page_token_label": {"en": "Course token", "zh": "课程令牌"},
    "page_token_help": {
        "en": "This browser stays signed in for 12 hours. Never share your token.",
        "zh": "本浏览器将保持登录 12 小时。请勿把令牌告诉他人。",
    },
    "page_signed_in_as": {"en": "Signed in as {id}", "zh": "已登录：{id}"},
    "page_language": {"en": "Language", "zh": "语言"},
    "page_nav": {"en": "Site", "zh": "导航"},
    "page_nav_me": {"en": "My submissions", "zh": "我的提交"},
    "page_nav_gradebook": {"en": "Gradebook", "zh": "成绩册"},
    "page_upload_heading": {"en": "Submit your work", "zh": "提交作业"},
    "page_file_label": {
        "en": "File (nn.py or backprop.ipynb)",
        "zh": "文件（nn.py 或 backprop.ipynb）",
    },
    "page_homework_label": {"en": "Homework", "zh": "作业"},
    "page_feedback_lang_label": {"en": "Feedback language", "zh": "反馈语言"},
    "page_submit": {"en": "Submit", "zh": "提交"},
    "page_uploading": {"en": "Uploading…", "zh": "正在上传…"},
    "page_upload_failed": {"en": "Not submitted: {reason}", "zh": "未能提交：{reason}"},
    "page_history_heading": {"en": "Every attempt", "zh": "全部提交记录"},
    "page_history_caption": {
        "en": "Newest first. The attempt marked “counts” gives the score in the gradebook.",
        "zh": "按时间倒序。标有“计入”的那次提交决定成绩册中的成绩。",
    },
    "page_no_attempts": {"en": "No submission yet.", "zh": "还没有提交。"},
    "page_col_id": {"en": "Submission", "zh": "提交"},
    "page_col_time": {"en": "Submitted", "zh": "提交时间"},
    "page_col_file": {"en": "File", "zh": "文件"},
    "page_col_status": {"en": "Status", "zh": "状态"},
    "page_col_score": {"en": "Score", "zh": "得分"},
    "page_col_penalized": {"en": "After late penalty", "zh": "扣除迟交罚分后"},
    "page_col_late": {"en": "Days late", "zh": "迟交天数"},
    "page_col_counts": {"en": "Counts", "zh": "计入"},
    "page_col_student": {"en": "Student", "zh": "学生"},
    "page_col_name": {"en": "Name", "zh": "姓名"},
    "page_col_attempts": {"en": "Attempts", "zh": "提交次数"},
    "page_col_last": {"en": "Last submission", "zh": "最近提交"},
    "page_col_homework": {"en": "Homework", "zh": "作业"},
    "page_col_before": {"en": "Before", "zh": "之前"},
    "page_col_after": {"en": "After", "zh": "之后"},
    "page_col_delta": {"en": "Change", "zh": "变化"},
    "page_counts_yes": {"en": "counts", "zh": "计入"},
    "page_state_queued": {"en": "queued", "zh": "排队中"},
    "page_state_grading": {"en": "grading", "zh": "评分中"},
    "page_state_done": {"en": "done", "zh": "已完成"},
    "page_state_error": {"en": "not graded", "zh": "未评分"},
    "page_state_superseded": {"en": "superseded", "zh": "已被取代"},
    "page_live_queued": {
        "en": "Queued: number {position} in line.",
        "zh": "排队中：第 {position} 位。",
    },
    "page_live_grading": {"en": "Grading now…", "zh": "正在评分…"},
    "page_live_done": {
        "en": "Done: {score} / {max_score}.",
        "zh": "已完成：{score} / {max_score}。",
    },
    "page_live_error": {"en": "Not graded: {reason}", "zh": "未评分：{reason}"},
    "page_live_offline": {
        "en": "The server cannot be reached; trying again…",
        "zh": "无法连接服务器，正在重试…",
    },
    "page_submission_title": {"en": "Submission {id}", "zh": "提交 {id}"},
    "page_status_heading": {"en": "Status", "zh": "状态"},
    "page_feedback_heading": {"en": "Feedback", "zh": "反馈"},
    "page_late_note": {
        "en": "Submitted {days} day(s) late: {penalized} / {max_score} after the late penalty.",
        "zh": "迟交 {days} 天：扣除迟交罚分后为 {penalized} / {max_score}。",
    },
    "page_noscript_refresh": {
        "en": "This page reloads itself every 2 seconds until grading is done.",
        "zh": "评分完成前，本页每 2 秒自动刷新一次。",
    },
    "page_not_found": {"en": "Not found", "zh": "未找到"},
    "page_not_found_text": {
        "en": "There is no such page, or it is not yours to see.",
        "zh": "没有这个页面，或者你无权查看。",
    },
    "page_forbidden": {"en": "Not allowed", "zh": "无权访问"},
    "page_gradebook_caption": {
        "en": "One row per student: the score that counts (after late penalties), attempts and "
        "last submission. The table updates by itself.",
        "zh": "每名学生一行：计入的成绩（已扣除迟交罚分）、提交次数和最近一次提交。表格会自动更新。",
    },
    "page_gradebook_updated": {"en": "Gradebook updated.", "zh": "成绩册已更新。"},
    "page_gb_graded": {"en": "graded", "zh": "已评分"},
    "page_gb_pending": {"en": "grading", "zh": "评分中"},
    "page_gb_error": {"en": "not graded", "zh": "未评分"},
    "page_gb_missing": {"en": "no submission", "zh": "未提交"},
    "page_download_csv": {"en": "Download gradebook.csv", "zh": "下载 gradebook.csv"},
    "page_class_report": {"en": "Class report", "zh": "班级报告"},
    "page_show_homework": {"en": "Show", "zh": "显示"},
    "page_student_title": {"en": "Attempts of {id}", "zh": "{id} 的提交记录"},
    "page_back_gradebook": {"en": "Back to the gradebook", "zh": "返回成绩册"},
    "page_regrade_heading": {"en": "Regrade", "zh": "重新评分"},
    "page_regrade_help": {
        "en": "Grade every finished submission again with the current grader and spec. Students "
        "see no change until you publish.",
        "zh": "用当前的评分程序和规范重新评定每一份已完成的提交。发布之前，学生看不到任何变化。",
    },
    "page_regrade_start": {"en": "Start a regrade", "zh": "开始重新评分"},
    "page_regrade_progress": {
        "en": "Regrade {id}: {finished} of {total} submissions graded.",
        "zh": "重新评分 {id}：已评 {finished} / {total} 份提交。",
    },
    "page_regrade_changes": {
        "en": "Students whose counting score changes",
        "zh": "计入成绩发生变化的学生",
    },
    "page_regrade_no_changes": {"en": "No score changes.", "zh": "没有成绩变化。"},
    "page_regrade_unchanged": {
        "en": "{n} student(s) unchanged.",
        "zh": "{n} 名学生成绩不变。",
    },
    "page_regrade_publish": {"en": "Publish the new scores", "zh": "发布新成绩"},
    "page_regrade_published": {
        "en": "Regrade {id} is published.",
        "zh": "重新评分 {id} 已发布。",
    },
    "page_report_title": {"en": "Class report: {title}", "zh": "班级报告：{title}"},
    "page_report_note": {
        "en": "Each student's counting submission, scores before late penalties.",
        "zh": "每名学生计入成绩的那次提交；分数为扣除迟交罚分之前。",
    },
    "page_report_summary": {"en": "Summary", "zh": "概况"},
    "page_report_students": {"en": "students", "zh": "学生人数"},
    "page_report_graded": {"en": "graded", "zh": "已评分"},
    "page_report_mean": {"en": "mean score", "zh": "平均分"},
    "page_report_median": {"en": "median score", "zh": "中位数"},
    "page_report_scores": {"en": "Score distribution", "zh": "成绩分布"},
    "page_report_scores_alt": {"en": "histogram of total scores", "zh": "总分直方图"},
    "page_report_parts": {"en": "Per-part pass rates", "zh": "各部分通过率"},
    "page_report_parts_alt": {
        "en": "share of students with full marks on each part",
        "zh": "各部分得满分的学生比例",
    },
    "page_report_misconceptions": {"en": "Most frequent misconceptions", "zh": "最常见的错误概念"},
    "page_report_misconceptions_alt": {
        "en": "misconceptions by number of students",
        "zh": "按学生人数统计的错误概念",
    },
    "page_report_no_misconceptions": {
        "en": "No misconception was detected.",
        "zh": "未检测到错误概念。",
    },
    "page_report_problems": {
        "en": "Students without a normally graded submission",
        "zh": "没有正常评分提交的学生",
    },
    "page_report_no_problems": {"en": "Every student was graded.", "zh": "所有学生均已评分。"},
    "page_report_no_charts": {
        "en": "Install matplotlib for the charts: pip install 'bpgrade[report]'",
        "zh": "安装 matplotlib 以显示图表：pip install 'bpgrade[report]'",
    },
    "page_col_part": {"en": "Part", "zh": "部分"},
    "page_col_title": {"en": "Title", "zh": "标题"},
    "page_col_points": {"en": "Points", "zh": "分值"},
    "page_col_full": {"en": "Full marks", "zh": "满分比例"},
    "page_col_mean": {"en": "Mean", "zh": "平均"},
    "page_col_tag": {"en": "Tag", "zh": "标签"},
    "page_col_what": {"en": "What the student did", "zh": "学生的做法"},
    "page_col_students": {"en": "Students", "zh": "学生数"},
    "page_col_reason": {"en": "Reason", "zh": "原因"},
    "page_timeline": {"en": "Timeline (instructors only)", "zh": "时间线（仅教师可见）"},
    "page_col_phase": {"en": "Phase", "zh": "阶段"},
    "page_col_seconds": {"en": "Seconds after upload", "zh": "上传后秒数"},
    "page_phase_received": {"en": "received", "zh": "收到"},
    "page_phase_queued": {"en": "queued", "zh": "入队"},
    "page_phase_started": {"en": "grading started", "zh": "开始评分"},
    "page_phase_graded": {"en": "graded", "zh": "评分结束"},
    "page_phase_stored": {"en": "stored", "zh": "结果已保存"},
    "page_worker": {"en": "Graded by {worker}", "zh": "评分进程：{worker}"},
    # --- course server: red team (tests/server/test_redteam_http.py) ---
    "server_internal_error": {
        "en": "the server failed on this request; try again later",
        "zh": "服务器处理此请求时出错；请稍后重试",
    },
    # --- regrade diffs (bpgrade regrade-diff, the server's regrade panel; issue 17) ---
    "rd_no_provenance": {
        "en": "{side} has no provenance (graded before bpgrade recorded it)",
        "zh": "{side} 没有评分来源记录（在 bpgrade 记录它之前评分）",
    },
    "rd_code": {
        "en": "grader code changed ({old} → {new})",
        "zh": "评分代码已更改（{old} → {new}）",
    },
    "rd_spec": {"en": "spec changed ({old} → {new})", "zh": "评分规范已更改（{old} → {new}）"},
    "rd_seed": {
        "en": "different hidden cases (seed id {old} → {new}: another course secret or student id)",
        "zh": "隐藏用例不同（种子标识 {old} → {new}：课程密钥或学号不同）",
    },
    "rd_tier": {"en": "sandbox tier {old} → {new}", "zh": "沙箱级别 {old} → {new}"},
    "rd_child": {"en": "child {what} {old} → {new}", "zh": "子进程 {what} {old} → {new}"},
    "rd_field": {"en": "{what} {old} → {new}", "zh": "{what} {old} → {new}"},
    "rd_part_added": {"en": "part added to the spec", "zh": "规范中新增了该部分"},
    "rd_part_removed": {"en": "part removed from the spec", "zh": "规范中删除了该部分"},
    "rd_status": {"en": "status {old} → {new}", "zh": "状态 {old} → {new}"},
    "rd_content": {"en": "the submission itself changed", "zh": "提交内容本身发生了变化"},
    "rd_penalty": {
        "en": "late penalty {old} → {new} points",
        "zh": "迟交扣分 {old} → {new} 分",
    },
    "rd_no_cause": {
        "en": "no recorded cause: same grader, spec, cases and runtime (the submission may not be "
        "deterministic)",
        "zh": "没有记录到原因：评分代码、规范、用例和运行环境都相同（提交的代码可能不是确定性的）",
    },
    "page_col_why": {"en": "Why", "zh": "原因"},
    # --- LMS exports (bpgrade export lms; issue 17) ---
    "lms_feedback": {"en": "bpgrade score {score}/{max}.", "zh": "bpgrade 成绩 {score}/{max}。"},
    "lms_feedback_late": {
        "en": "Late {days} day(s): {raw} → {score} after the late penalty.",
        "zh": "迟交 {days} 天：扣除迟交罚分后 {raw} → {score}。",
    },
    "lms_feedback_missing": {"en": "No submission.", "zh": "未提交。"},
    # --- homeworks: which one a command grades (issue 18) ---
    "hw_unknown": {
        "en": "unknown homework {name!r}; known: {known}",
        "zh": "未知的作业 {name!r}；已有：{known}",
    },
    "hw_ambiguous": {
        "en": "cannot tell which homework {path} is: it defines functions of {names}; "
        "say which with --homework NAME",
        "zh": "无法判断 {path} 属于哪份作业：它定义了 {names} 的函数；请用 --homework NAME 指定",
    },
    "hw_mixed": {
        "en": "the submissions are for different homeworks ({names}); say which with --homework NAME",
        "zh": "这些提交属于不同的作业（{names}）；请用 --homework NAME 指定",
    },
    "hw_spec_and_name": {
        "en": "give --spec or --homework, not both",
        "zh": "--spec 与 --homework 只能给出其一",
    },
}

NAMES = {
    "J": {"en": "the cost J", "zh": "代价 J"},
    "grad": {"en": "the gradient", "zh": "梯度"},
    "result": {"en": "the result", "zh": "返回值"},
    "labels": {"en": "the predicted labels", "zh": "预测标签"},
    "params": {"en": "the final parameters", "zh": "最终参数"},
    "J_history": {"en": "J_history", "zh": "J_history"},
    "weights": {"en": "the weights", "zh": "权重"},
}


# Output names that take a plural verb in English. Chinese verbs do not agree.
PLURAL = ("labels", "params", "weights")


def is_plural(what: object) -> bool:
    """Whether ``what`` is the English display name of a plural output ("the predicted labels")."""
    return any(what == NAMES[key]["en"] for key in PLURAL)


def msg(key: str, lang: str = "en", **fields: object) -> str:
    """Return the message ``key`` in ``lang`` (falling back to English), formatted with ``fields``.

    An English message whose subject ``what`` is plural uses its ``"en_plural"`` form when it has
    one, so the verb agrees: "the gradient is incorrect", "the predicted labels are incorrect".
    """
    table = _MESSAGES[key]
    text = table.get(lang)
    if text is None or lang == "en":
        plural = "en_plural" in table and is_plural(fields.get("what"))
        text = table["en_plural"] if plural else table["en"]
    return text.format(**fields)


def name(key: str, lang: str = "en") -> str:
    """The display name of an output (``"J"``, ``"grad"``, ...) in ``lang``."""
    table = NAMES.get(key)
    if table is None:
        return key
    return table.get(lang, table["en"])
