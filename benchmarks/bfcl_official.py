"""Score a corpus of answers with the official BFCL checker (run inside benchmarks/.venv-bfcl).

    benchmarks/.venv-bfcl/bin/python benchmarks/bfcl_official.py DATA CORPUS OUT [REPEAT]

bench_bfcl_agreement.py writes the corpus and runs this script with the interpreter of
its own virtualenv, where ``bfcl-eval`` is installed; nothing of clearance is imported
here, and nothing of bfcl-eval is imported by clearance.

Each corpus line is ``{"n": item number, "id": BFCL id, "category", "result": ...}``
where ``result`` is what BFCL's OpenAI function-calling handler stores for a model's
answer: a list of ``{function name: arguments JSON string}``, or the answer's text
(possibly ``""`` or ``null``) when it made no call. Each is judged by the functions
BFCL's eval runner calls per entry (``_evaluate_single_ast_entry``,
``_evaluate_single_relevance_entry``: its handler's ``decode_ast``, then the AST checker
or the relevance rule), with the prompts and possible answers read from DATA without
the language hints, as the runner reads them. The CPU time of each judgement is
measured around that one call (``time.process_time_ns``), REPEAT times (default 1).

Output lines: ``{"n", "valid", "error_type", "cpu_ns", "decode_ns", "raised"}``:
``cpu_ns`` lists the time of each repetition, ``decode_ns`` that of the handler's
``decode_ast`` alone, timed again apart; ``raised`` names an exception the checker
itself raised (its verdict is then ``valid: false``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

MODEL = "gpt-4o-2024-11-20-FC"
"""A function-calling model whose handler renames ``a.b`` to ``a_b`` (underscore_to_dot)."""


def _load(path: Path) -> dict[str, dict]:
    records = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            records[record["id"]] = record
    return records


def _language(category: str) -> str:
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def main() -> None:
    data, corpus, out = (Path(arg) for arg in sys.argv[1:4])
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    # the handler builds an OpenAI client, which wants a key; no request is ever made
    os.environ.setdefault("OPENAI_API_KEY", "not-used-no-request-is-made")
    from bfcl_eval.constants.enums import Language, ReturnFormat
    from bfcl_eval.eval_checker import eval_runner

    handler = eval_runner.get_handler(MODEL)
    prompts: dict[str, dict] = {}
    answers: dict[str, dict] = {}
    loaded: set[str] = set()
    languages = {
        "java": (Language.JAVA, ReturnFormat.JAVA),
        "javascript": (Language.JAVASCRIPT, ReturnFormat.JAVASCRIPT),
        "python": (Language.PYTHON, ReturnFormat.PYTHON),
    }

    def judge(item: dict, prompt: dict) -> dict:
        category = item["category"]
        if "relevance" in category:
            return eval_runner._evaluate_single_relevance_entry(
                handler, item["id"], item["result"], prompt, MODEL, category
            )
        language, return_format = languages[_language(category)]
        return eval_runner._evaluate_single_ast_entry(
            handler,
            item["id"],
            item["result"],
            answers[item["id"]]["ground_truth"],
            prompt,
            MODEL,
            category,
            language=language,
            return_format=return_format,
            has_tool_call_tag=False,
        )

    with corpus.open(encoding="utf-8") as source, out.open("w", encoding="utf-8") as sink:
        for line in source:
            item = json.loads(line)
            category = item["category"]
            if category not in loaded:
                prompts.update(_load(data / f"BFCL_v4_{category}.json"))
                answers.update(_load(data / "possible_answer" / f"BFCL_v4_{category}.json"))
                loaded.add(category)
            raised = None
            cpu: list[int] = []
            decode: list[int] = []
            for _ in range(repeat):
                prompt = json.loads(json.dumps(prompts[item["id"]]))  # the checker may edit it
                start = time.process_time_ns()
                try:
                    verdict = judge(item, prompt)
                except Exception as exc:  # the checker itself failed on this answer
                    verdict = {"valid": False, "error_type": "raised"}
                    raised = f"{type(exc).__name__}: {exc}"[:300]
                cpu.append(time.process_time_ns() - start)
                # the decoding alone (json.loads of each call's arguments), timed apart
                result = json.loads(json.dumps(item["result"]))
                start = time.process_time_ns()
                with contextlib.suppress(Exception):  # it fails, as in the judgement above
                    handler.decode_ast(result, languages[_language(category)][1], False)
                decode.append(time.process_time_ns() - start)
            sink.write(
                json.dumps(
                    {
                        "n": item["n"],
                        "valid": bool(verdict["valid"]),
                        "error_type": verdict.get("error_type"),
                        "cpu_ns": cpu,
                        "decode_ns": decode,
                        "raised": raised,
                    }
                )
                + "\n"
            )


if __name__ == "__main__":
    main()
