"""BFCL as a tool-retrieval set, built from the real BFCL files in
``tests/data/realdata/bfcl`` (live_multiple and live_irrelevance are cut short there:
``tests/data/realdata/MANIFEST.tsv``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearance.contracts.bfcl import read_bfcl
from clearance.errors import SourceFormatError
from clearance.knowledge.bfcl_retrieval import (
    BfclRetrievalSet,
    build_bfcl_retrieval,
    tool_document_text,
)
from clearance.knowledge.labels import dump_queryset, load_queryset

BFCL = Path(__file__).resolve().parents[1] / "data" / "realdata" / "bfcl"


@pytest.fixture(scope="module")
def built() -> BfclRetrievalSet:
    return build_bfcl_retrieval(BFCL)


def test_counts_on_the_real_files(built: BfclRetrievalSet) -> None:
    assert built.by_category == {
        "simple_python": 200,
        "simple_java": 100,
        "simple_javascript": 50,
        "multiple": 200,
        "parallel": 200,
        "parallel_multiple": 200,
        "live_simple": 258,
        "live_multiple": 152,
        "live_parallel": 16,
        "live_parallel_multiple": 24,
    }
    assert len(built.queryset.queries) == 1400
    # one document per distinct function definition, over every single-turn category
    # (the relevance categories' functions included)
    assert len(built.documents) == 1913
    ids = [d.document_id for d in built.documents]
    assert len(set(ids)) == len(ids)
    assert set(built.skipped) == {"multi_turn_base"}
    assert built.queryset.knowledge_base == "bfcl-tools"


def test_every_relevant_function_is_a_document(built: BfclRetrievalSet) -> None:
    ids = {d.document_id for d in built.documents}
    assert built.queryset.relevant_documents() <= ids
    assert all(q.relevant and set(q.relevant.values()) == {1} for q in built.queryset.queries)


def test_known_questions_and_their_functions(built: BfclRetrievalSet) -> None:
    queries = {q.id: q for q in built.queryset.queries}
    first = queries["simple_python_0"]
    assert first.query == (
        "Find the area of a triangle with a base of 10 units and height of 5 units."
    )
    assert dict(first.relevant) == {"calculate_triangle_area": 1}
    assert dict(queries["parallel_multiple_0"].relevant) == {
        "math_toolkit_sum_of_multiples": 1,
        "math_toolkit_product_of_primes": 1,
    }
    assert dict(queries["live_simple_0-0-0"].relevant) == {"get_user_info": 1}
    assert dict(queries["simple_java_0"].relevant) == {"GeometryPresentation_createPresentation": 1}
    # questions without a ground truth are not queries
    assert not any(
        q.id.startswith(("irrelevance", "live_irrelevance", "live_relevance"))
        for q in built.queryset.queries
    )


def test_identical_definitions_merge_and_different_ones_stay_apart(
    built: BfclRetrievalSet,
) -> None:
    documents = {d.document_id: d for d in built.documents}
    # calculate_triangle_area is offered by simple_python and parallel_multiple alike
    users = {
        q.id.rsplit("_", 1)[0]
        for q in built.queryset.queries
        if "calculate_triangle_area" in q.relevant
    }
    assert {"simple_python", "parallel_multiple"} <= users
    # math.gcd is defined twice, differently: two documents, the second hash-suffixed
    gcd = documents["math_gcd"]
    other = documents["math_gcd__1c842d78"]
    assert gcd.name == other.name == "math.gcd"
    assert "Compute the greatest common divisor of two numbers" in gcd.text
    assert "Calculate the greatest common divisor (gcd)" in other.text
    assert gcd.text.startswith("# math_gcd (math.gcd)\n")
    assert "- `num1` (integer): The first number." in gcd.text


def test_java_documents_say_their_language(built: BfclRetrievalSet) -> None:
    java = {d.document_id: d for d in built.documents}["GeometryPresentation_createPresentation"]
    assert "Java 8 SDK syntax" in java.text
    assert "- `controller` (string):" in java.text


def test_the_query_set_round_trips_through_yaml(built: BfclRetrievalSet, tmp_path: Path) -> None:
    path = tmp_path / "bfcl.yaml"
    path.write_text(dump_queryset(built.queryset), encoding="utf-8")
    loaded = load_queryset(path)
    assert [(q.id, q.query, dict(q.relevant)) for q in loaded.queries] == [
        (q.id, q.query, dict(q.relevant)) for q in built.queryset.queries
    ]


def test_nested_parameters_are_listed() -> None:
    contract = {
        "name": "book",
        "description": "Book a room.",
        "input_schema": {
            "type": "object",
            "properties": {
                "guest": {
                    "type": "object",
                    "description": "Who stays.",
                    "properties": {"name": {"type": "string", "description": "Full name."}},
                },
                "nights": {
                    "type": "array",
                    "items": {"type": "object", "properties": {"date": {"type": "string"}}},
                },
            },
        },
    }
    assert tool_document_text(contract, "hotel.book") == (
        "# book (hotel.book)\n\nBook a room.\n\n## Parameters\n\n"
        "- `guest` (object): Who stays.\n- `guest.name` (string): Full name.\n"
        "- `nights` (array)\n- `nights[].date` (string)\n"
    )


def test_a_missing_folder_is_the_importers_error(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError):
        build_bfcl_retrieval(tmp_path, ["simple_python"])
    # the same reader as the importer: the same cases
    assert len(read_bfcl(BFCL, ["simple_python"])) == 200
