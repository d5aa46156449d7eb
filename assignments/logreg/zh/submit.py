"""Submit your homework to the course server and print its per-part score when it is graded.

    python submit.py                            # submits nn.py next to this file
    python submit.py backprop.ipynb             # submits the notebook (save it first)
    python submit.py nn.py --server https://grader.example.edu

In the notebook: ``from submit import submit; submit("backprop.ipynb")``. The server's address is
the one your instructor built into this file, else ``--server`` or ``$BPGRADE_SERVER`` (these
override it). Your token comes from ``$BPGRADE_TOKEN``, else from ``.bpgrade_token`` next to this
file, else it is asked once and remembered there: keep that file private. Standard library only.

向课程服务器提交作业，评分完成后打印每个部分的得分。令牌（token）由任课教师提供。
"""

from __future__ import annotations

import argparse
import getpass
import http.client
import json
import os
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

# --- set by bpgrade release ---
LANG = 'zh'
SERVER = None
DEFAULT_FILE = 'logreg.py'
HOMEWORK = 'logreg'
# --- end ---

HERE = Path(__file__).resolve().parent
TOKEN_FILE = HERE / ".bpgrade_token"
MAX_BYTES = 5 * 1024 * 1024  # the server's cap: refuse before sending megabytes for nothing
SUFFIXES = (".py", ".ipynb")
WAIT_S = 600  # give up waiting (not the submission) after this long
REQUEST_TIMEOUT_S = 30

_TEXT = {
    "en": {
        "no_server": (
            "no course server is set: run `python submit.py --server URL` or set BPGRADE_SERVER "
            "(your instructor gives the address)"
        ),
        "bad_server": "{url!r} is not a server address: use http://host[:port][/path] or https://…",
        "no_file": "{path}: no such file",
        "bad_suffix": "{path}: submit a .py or .ipynb file",
        "too_big": "{path} is {size:.1f} MiB; the server accepts at most {limit} MiB",
        "prompt": "Your course token (from your instructor; typing is hidden): ",
        "no_token": "no token given; your instructor gives you one (or set BPGRADE_TOKEN)",
        "bad_token": "that token cannot be right (it holds spaces or control characters)",
        "unsaved": "(could not remember the token in {path}: {error})",
        "refused_env": "the server refused the token in BPGRADE_TOKEN; check it with your instructor",
        "refused": (
            "the server refused your token, so it is forgotten: run again and type the token "
            "your instructor gave you"
        ),
        "rejected": "the server did not accept the submission (HTTP {status}): {detail}",
        "retry": " (try again in {seconds} s)",
        "not_found": "the server has nothing at {url} (for you): is it the course server?",
        "server_error": "the server failed (HTTP {status}); try again later",
        "unexpected": "unexpected answer from the server (HTTP {status})",
        "redirect": "the server redirects to {url}: use that address with --server",
        "not_json": "the server's answer is not JSON: is {url} the course server?",
        "unreachable": "cannot reach the course server at {url}: {reason}",
        "timeout": "the course server at {url} did not answer in time",
        "sending": "submitting {name} ({size} bytes, saved {saved}) to {url}",
        "queued": "queued",
        "position": "queued, position {position}",
        "grading": "grading",
        "retrying": "server unreachable, retrying",
        "waited": "still not graded after {minutes} min; it stays queued on the server: see {page}",
        "interrupted": "stopped waiting: submission {id} is still graded on the server; see {page}",
        "failed": "the submission could not be graded: {error}",
        "superseded": "submission {id} was superseded by your later submission {other}",
        "total": "total",
        "late": "{days} day(s) late: counts as {score}",
        "page": "feedback: {page}",
    },
    "zh": {
        "no_server": (
            "没有设置课程服务器：请运行 `python submit.py --server 地址` 或设置环境变量 BPGRADE_SERVER"
            "（地址由任课教师提供）"
        ),
        "bad_server": "{url!r} 不是服务器地址：请使用 http://主机[:端口][/路径] 或 https://…",
        "no_file": "{path}：文件不存在",
        "bad_suffix": "{path}：请提交 .py 或 .ipynb 文件",
        "too_big": "{path} 有 {size:.1f} MiB；服务器最多接受 {limit} MiB",
        "prompt": "请输入课程令牌（由任课教师提供；输入不会显示）：",
        "no_token": "没有输入令牌；令牌由任课教师提供（也可以设置环境变量 BPGRADE_TOKEN）",
        "bad_token": "这个令牌不对（其中有空格或控制字符）",
        "unsaved": "（无法把令牌保存到 {path}：{error}）",
        "refused_env": "服务器拒绝了 BPGRADE_TOKEN 中的令牌；请向任课教师核对",
        "refused": "服务器拒绝了你的令牌，已删除保存的令牌：请重新运行，并输入任课教师给你的令牌",
        "rejected": "服务器没有接受这次提交（HTTP {status}）：{detail}",
        "retry": "（请 {seconds} 秒后再试）",
        "not_found": "服务器上没有 {url}（或不属于你）：这是课程服务器吗？",
        "server_error": "服务器出错（HTTP {status}）；请稍后再试",
        "unexpected": "服务器的回答出乎意料（HTTP {status}）",
        "redirect": "服务器重定向到 {url}：请用 --server 指定这个地址",
        "not_json": "服务器的回答不是 JSON：{url} 是课程服务器吗？",
        "unreachable": "无法连接课程服务器 {url}：{reason}",
        "timeout": "课程服务器 {url} 没有及时回答",
        "sending": "正在提交 {name}（{size} 字节，保存于 {saved}）到 {url}",
        "queued": "排队中",
        "position": "排队中，第 {position} 位",
        "grading": "评分中",
        "retrying": "无法连接服务器，正在重试",
        "waited": "{minutes} 分钟后仍未评完；提交仍在服务器上排队：请查看 {page}",
        "interrupted": "已停止等待：第 {id} 号提交仍会在服务器上评分；请查看 {page}",
        "failed": "这次提交无法评分：{error}",
        "superseded": "第 {id} 号提交已被你之后的第 {other} 号提交取代",
        "total": "总分",
        "late": "迟交 {days} 天：按 {score} 分计",
        "page": "详细反馈：{page}",
    },
}


def _t(key: str, **kwargs) -> str:
    return _TEXT.get(LANG, _TEXT["en"])[key].format(**kwargs)


class SubmitError(Exception):
    """Something the student must read: one line, already in the release's language."""


class _Transient(SubmitError):
    """The server could not be reached or failed; waiting for a result may try again."""


class _Refused(SubmitError):
    """HTTP 401: the token is wrong."""


# ---------------------------------------------------------------------------------------------
# What to send, where, and as whom
# ---------------------------------------------------------------------------------------------


def server_url(given: str | None = None) -> str:
    """The server's base URL: ``given`` (``--server``), else ``$BPGRADE_SERVER``, else ``SERVER``."""
    url = given or os.environ.get("BPGRADE_SERVER") or SERVER
    if not url:
        raise SubmitError(_t("no_server"))
    parts = urllib.parse.urlsplit(url.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.query
        or parts.fragment
    ):
        raise SubmitError(_t("bad_server", url=url))
    return url.strip().rstrip("/")


def read_submission(path: Path) -> bytes:
    """The file's bytes, after the checks the server would make (name, size)."""
    if not path.is_file():
        raise SubmitError(_t("no_file", path=path))
    if path.suffix.lower() not in SUFFIXES:
        raise SubmitError(_t("bad_suffix", path=path))
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SubmitError(_t("too_big", path=path, size=size / 2**20, limit=MAX_BYTES // 2**20))
    return path.read_bytes()


def get_token() -> tuple[str, str]:
    """The token and where it came from: ``"env"``, ``"file"`` or ``"asked"`` (then remembered)."""
    token = os.environ.get("BPGRADE_TOKEN", "").strip()
    if token:
        return _checked(token), "env"
    try:
        token = TOKEN_FILE.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        token = ""
    if token:
        return _checked(token), "file"
    try:
        # getpass.getpass, looked up now: Jupyter replaces it with its own hidden input box.
        token = getpass.getpass(_t("prompt")).strip()
    except EOFError:
        token = ""
    if not token:
        raise SubmitError(_t("no_token"))
    remember_token(_checked(token))
    return token, "asked"


def _checked(token: str) -> str:
    if any(c.isspace() or not c.isprintable() for c in token):
        raise SubmitError(_t("bad_token"))
    return token


def remember_token(token: str) -> None:
    """Write the token to ``TOKEN_FILE``, readable by its owner only (0600) on POSIX."""
    try:
        if os.name == "posix":
            fd = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT: narrow it
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(token + "\n")
        else:
            TOKEN_FILE.write_text(token + "\n", encoding="utf-8")
    except OSError as exc:  # a read-only folder: the submission still goes through
        _say(_t("unsaved", path=TOKEN_FILE, error=exc.strerror or exc), err=True)


def forget_token() -> None:
    """Remove the remembered token (after the server refused it)."""
    try:
        TOKEN_FILE.unlink()
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body: the text ``fields`` and the file in field ``file``."""
    boundary = f"bpgrade-{uuid.uuid4().hex}"
    # As browsers do (WHATWG): quotes and line breaks in a file name are percent-encoded.
    quoted = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    chunks = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    chunks.append(
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
    )
    chunks += [data, f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Following a redirect would send the token to wherever it points (and turn the upload
    # into a GET): stop and name the new address instead.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def call(
    method: str, url: str, token: str, body: bytes | None = None, content_type: str | None = None
) -> dict:
    """One request; the answer's JSON object, or a :class:`SubmitError` saying what went wrong."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Accept-Language": LANG,
        "User-Agent": "bpgrade-submit/1",
    }
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with _OPENER.open(request, timeout=REQUEST_TIMEOUT_S) as answer:
            raw = answer.read()
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, url) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise _Transient(_t("timeout", url=url)) from None
        raise _Transient(_t("unreachable", url=url, reason=_clean(reason))) from None
    document = _json(raw)
    if not isinstance(document, dict):
        raise SubmitError(_t("not_json", url=url))
    return document


def _json(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError is one
        return None


def _http_error(exc: urllib.error.HTTPError, url: str) -> SubmitError:
    status = exc.code
    if 300 <= status < 400:
        return SubmitError(_t("redirect", url=_clean(exc.headers.get("Location", "?"))))
    try:
        document = _json(exc.read(64 * 1024))
    except OSError:
        document = None
    detail = document.get("detail") if isinstance(document, dict) else None
    if status == 401:
        return _Refused(_t("refused"))
    if status == 404:
        return SubmitError(_t("not_found", url=url))
    if status >= 500:
        return _Transient(_t("server_error", status=status))
    if detail is None:
        return SubmitError(_t("unexpected", status=status))
    text = _t("rejected", status=status, detail=_clean(detail))
    retry = exc.headers.get("Retry-After", "")
    if status == 429 and retry.isdigit():
        text += _t("retry", seconds=int(retry))
    return SubmitError(text)


def _clean(value, limit: int = 300) -> str:
    """A server-given value as one printable line (no terminal escapes), at most ``limit`` long."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    text = "".join(c if c.isprintable() else " " for c in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Submit, wait, print
# ---------------------------------------------------------------------------------------------


def upload(base: str, path: Path, data: bytes, token: str) -> dict:
    """POST the file; the server's ``{"id", "status", "position"}``."""
    fields = {"homework": HOMEWORK, "lang": LANG}
    body, content_type = multipart(fields, path.name, data)
    answer = call("POST", f"{base}/api/submissions", token, body, content_type)
    if not isinstance(answer.get("id"), int):
        raise SubmitError(_t("not_json", url=base))
    return answer


def wait(base: str, submission: dict, token: str, *, limit_s: float = WAIT_S) -> dict:
    """Poll until the submission is ``done`` or ``error``, showing its state on one line.

    Every second at first, then a little less often (at most every 5 s). An unreachable or
    failing server is retried until ``limit_s``: the submission is safe on the server.
    """
    sid = submission["id"]
    url = f"{base}/api/submissions/{sid}"
    start = time.monotonic()
    delay, shown = 1.0, ""
    document = submission
    while True:
        state = _state(document)
        line = f"{state} … {time.monotonic() - start:.0f} s"
        _say("\r" + _pad(line, _width(shown)), end="")
        shown = line
        if time.monotonic() - start > limit_s:
            _say("")
            raise SubmitError(_t("waited", minutes=round(limit_s / 60), page=page_url(base, sid)))
        time.sleep(delay)
        delay = min(delay * 1.25, 5.0)
        try:
            document = call("GET", url, token)
        except _Transient:
            document = {"status": "retrying"}
            continue
        if document.get("status") in ("done", "error"):
            _say("\r" + " " * _width(shown) + "\r", end="")
            return document


def _state(document: dict) -> str:
    status = document.get("status")
    if status == "queued" and isinstance(document.get("position"), int):
        return _t("position", position=document["position"])
    if status in ("queued", "grading", "retrying"):
        return _t(status)
    return _clean(status, 40)


def page_url(base: str, sid: int) -> str:
    return f"{base}/submissions/{sid}"


def results_table(document: dict) -> str:
    """The per-part table of a graded submission (from its Gradescope ``results.tests``)."""
    results = document.get("results") if isinstance(document.get("results"), dict) else {}
    tests = [t for t in results.get("tests") or [] if isinstance(t, dict)]
    rows = []
    for test in tests:
        score, points = _number(test.get("score")), _number(test.get("max_score"))
        passed = test.get("status") == "passed" if "status" in test else score >= points
        rows.append(("✓" if passed else "✗", _clean(test.get("name", "?"), 60), score, points))
    width = max([_width(name) for _, name, _, _ in rows] + [_width(_t("total"))])
    lines = [
        f"{mark} {_pad(name, width)}  {score:6.2f}/{points:g}" for mark, name, score, points in rows
    ]
    total, most = _number(document.get("score")), _number(document.get("max_score"))
    lines.append(f"  {_pad(_t('total'), width)}  {total:6.2f}/{most:g}")
    late = document.get("late_days")
    if isinstance(late, int) and late > 0 and document.get("penalized_score") is not None:
        lines.append(
            "  " + _t("late", days=late, score=f"{_number(document['penalized_score']):g}")
        )
    return "\n".join(lines)


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _say(text: str, *, end: str = "\n", err: bool = False) -> None:
    """Print, replacing what the console cannot show (a Windows code page and ✓ or Chinese)."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # pythonw
        return
    try:
        stream.write(text + end)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write((text + end).encode(encoding, "replace").decode(encoding))
    stream.flush()


def _resolve(file: str | os.PathLike | None) -> Path:
    if file is None:
        return HERE / DEFAULT_FILE
    path = Path(file)
    if not path.is_absolute() and not path.exists() and (HERE / path).exists():
        return HERE / path  # submit("nn.py") from another working folder
    return path


def run(
    file: str | os.PathLike | None = None, server: str | None = None
) -> tuple[int, dict | None]:
    """Submit ``file`` and wait for its grade; ``(exit status, the graded submission or None)``."""
    token_source = None
    base = sid = None
    try:
        base = server_url(server)
        path = _resolve(file)
        data = read_submission(path)
        token, token_source = get_token()
        saved = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
        _say(_t("sending", name=path.name, size=len(data), saved=saved, url=base))
        submission = upload(base, path, data, token)
        sid = submission["id"]
        document = wait(base, submission, token)
    except _Refused:
        if token_source == "env":
            _say(_t("refused_env"), err=True)
        else:  # remembered, or typed just now (and remembered): forget it
            forget_token()
            _say(_t("refused"), err=True)
        return 1, None
    except SubmitError as exc:
        _say(str(exc), err=True)
        return 1, None
    except KeyboardInterrupt:
        _say("")
        if sid is None:
            return 130, None
        _say(_t("interrupted", id=sid, page=page_url(base, sid)), err=True)
        return 130, None
    return _report(base, sid, document), document


def _report(base: str, sid: int, document: dict) -> int:
    status = document.get("status")
    if status == "error":
        other = document.get("superseded_by")
        if isinstance(other, int):
            _say(_t("superseded", id=sid, other=other), err=True)
        else:
            _say(_t("failed", error=_clean(document.get("error") or "?")), err=True)
        return 1
    _say(results_table(document))
    _say(_t("page", page=page_url(base, sid)))
    return 0


def submit(file: str | os.PathLike | None = None, *, server: str | None = None) -> dict | None:
    """Submit from a notebook or a Python prompt: ``submit("backprop.ipynb")``.

    Parameters
    ----------
    file : str or path-like, optional
        The file to submit (default: this release's ``nn.py``). Save the notebook first: the
        file on disk is sent, not what the kernel holds.
    server : str, optional
        The server's base URL, overriding ``$BPGRADE_SERVER`` and the release's.

    Returns
    -------
    dict or None
        The graded submission as the server describes it, or None if it failed (the reason is
        printed). Never raises for a student's mistake and never exits the kernel.
    """
    _, document = run(file, server)
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help=f"{DEFAULT_FILE} (default) or a .ipynb notebook")
    parser.add_argument("--server", metavar="URL", help="course server (overrides BPGRADE_SERVER)")
    args = parser.parse_args(argv)
    status, _ = run(args.file, args.server)
    return status


if __name__ == "__main__":
    sys.exit(main())
