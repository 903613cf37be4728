"""Retriever configurations (``[[retrievers]]``, ``[knowledge]``) and the labelled query
sets of ``[evals]``: parsed, and every mistake named with its key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.config import load_config
from clearance.errors import ConfigError

_TWO = """
[[retrievers]]
name = "lexical-k5"
kind = "lexical"
k = 5

[[retrievers]]
name = "hybrid-hash"
kind = "hybrid"
k = 3
embedder = "hashing"

[knowledge]
default_retriever = "lexical-k5"
org_retrievers = { acme = "hybrid-hash" }

[evals]
retrieval_sets = [{ path = "kb/queries.yaml", org = "acme" }]
"""


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "clearance.toml").write_text(text, encoding="utf-8")
    return load_config(environ={}, cwd=tmp_path)


def test_retrievers_knowledge_and_sets_are_read(tmp_path: Path) -> None:
    (tmp_path / "clearance.toml").write_text(_TWO, encoding="utf-8")
    config = load_config(environ={}, cwd=tmp_path)
    assert [(r.name, r.kind, r.k, r.embedder) for r in config.retrievers] == [
        ("lexical-k5", "lexical", 5, None),
        ("hybrid-hash", "hybrid", 3, "hashing"),
    ]
    assert config.retriever("hybrid-hash").k == 3
    assert config.org_retriever("acme") == "hybrid-hash"
    assert config.org_retriever("globex") == "lexical-k5"
    assert [(s.path, s.org) for s in config.evals.retrieval_sets] == [("kb/queries.yaml", "acme")]


def test_no_retrievers_means_no_retrieval(tmp_path: Path) -> None:
    config = load_config(environ={}, cwd=tmp_path)
    assert config.retrievers == ()
    assert config.org_retriever("acme") is None
    with pytest.raises(ConfigError, match="declared: none"):
        config.retriever("lexical-k5")


def test_an_unknown_key_in_a_retriever_names_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[[retrievers]]\nname = "a"\nknd = "lexical"\n')
    assert caught.value.key == "retrievers.0.knd"
    assert "did you mean 'kind'" in str(caught.value)


def test_an_unknown_key_in_a_retrieval_set_names_the_closest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[evals]\nretrieval_sets = [{ pth = "q.yaml", org = "a" }]\n')
    assert caught.value.key == "evals.retrieval_sets.0.pth"
    assert "did you mean 'path'" in str(caught.value)


def test_an_unknown_kind_lists_the_three(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[[retrievers]]\nname = "a"\nkind = "semantic"\n')
    assert caught.value.key == "retrievers.0.kind"
    assert "lexical" in str(caught.value)
    assert "hybrid" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('kind = "dense"', "needs an embedder"),
        ('kind = "lexical"\nembedder = "hashing"', "embedder does not apply"),
    ],
)
def test_the_embedder_must_fit_the_kind(tmp_path: Path, body: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        _load(tmp_path, f'[[retrievers]]\nname = "a"\n{body}\n')


def test_a_bad_name_says_the_form(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, '[[retrievers]]\nname = "no spaces"\n')
    assert caught.value.key == "retrievers.0.name"
    assert "lexical-k5" in str(caught.value)


def test_k_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        _load(tmp_path, '[[retrievers]]\nname = "a"\nk = 0\n')


def test_a_retriever_declared_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'a' is declared twice"):
        _load(tmp_path, '[[retrievers]]\nname = "a"\n[[retrievers]]\nname = "a"\n')


def test_the_default_and_an_org_must_name_a_declared_retriever(tmp_path: Path) -> None:
    base = '[[retrievers]]\nname = "lexical-k5"\n'
    with pytest.raises(ConfigError, match="did you mean 'lexical-k5'"):
        _load(tmp_path, base + '[knowledge]\ndefault_retriever = "lexical-k3"\n')
    with pytest.raises(ConfigError, match=r"org_retrievers\.acme names retriever 'x'"):
        _load(tmp_path, base + '[knowledge]\norg_retrievers = { acme = "x" }\n')


def test_served_by_names_the_default_then_the_orgs_set_to_it() -> None:
    from clearance.config import KnowledgeConfig

    knowledge = KnowledgeConfig(
        default_retriever="a", org_retrievers={"zeta": "a", "acme": "a", "eu": "b"}
    )
    assert knowledge.served_by("a") == ("default", "acme", "zeta")
    assert knowledge.served_by("b") == ("eu",)
    assert knowledge.served_by("c") == ()
