"""Command text: options, quotes, ids, limits. Refusals are user messages, never exceptions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.commands import Costs, ListPosts, Propose, Refine, RunPlan, ShowPost, parse
from handlers.ports import UserError
from pipeline.spec import SpecError, parse_special
from tests.support import SEED_SPECIAL


def test_propose_reads_idea_and_quoted_options() -> None:
    cmd = parse(
        "propose",
        "benchmarks as safety cases pillar:structural_dread persona:@aiaaron "
        f'special:"{SEED_SPECIAL}"',
        max_chars=2000,
    )
    assert cmd == Propose(
        "benchmarks as safety cases", "structural_dread", "@aiaaron", SEED_SPECIAL
    )


def test_ids_accept_plain_and_hash_forms() -> None:
    assert parse("run", "#12", max_chars=100) == RunPlan(12)
    assert parse("post", "34", max_chars=100) == ShowPost(34)
    assert parse("refine", "#3 make it shorter", max_chars=100) == Refine(3, "make it shorter")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("propose", "", "the idea is empty"),
        ("propose", "pillar:structural_dread", "the idea is empty"),
        ("propose", 'idea special:"unclosed', "the quote after `special:` is not closed"),
        ("propose", "idea pillar:a pillar:b", "`pillar:` is given twice"),
        ("run", "twelve", "`twelve` is not a plan id"),
        ("post", "", "which post?"),
        ("refine", "3", "give the plan and a note"),
        ("costs", "-1", "days must be a whole number"),
        ("posts", "published aiaaron extra", "unexpected `extra`"),
        ("posts", "status:published aiaaron", "options such as status:published go after"),
        ("posts", "aiaaron colour:red", "`colour:` is not an option of /posts"),
        ("propose", "idea pillar:", "`pillar:` has no value"),
        ("propose", 'idea special:"1 text",', "has text right after its closing quote"),
        ("propose", 'idea special:"1 text" pillar:"open', "the quote after `pillar:` is not"),
        ("frobnicate", "", "there is no /frobnicate command"),
    ],
)
def test_bad_text_is_refused_with_what_is_wrong(name: str, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse(name, text, max_chars=2000)


def test_text_over_the_limit_is_refused() -> None:
    with pytest.raises(UserError, match="at most 50"):
        parse("propose", "x" * 51, max_chars=50)


def test_invisible_characters_are_dropped() -> None:
    cmd = parse("propose", "bench\u200bmarks \u202eare\u202c fine", max_chars=100)
    assert cmd == Propose("benchmarks are fine")


def test_lists_and_costs() -> None:
    assert parse("posts", "published aiaaron", max_chars=100) == ListPosts("published", "aiaaron")
    assert parse("costs", "", max_chars=100) == Costs(7)


@settings(max_examples=1500, deadline=None)
@given(
    name=st.sampled_from(["propose", "refine", "run", "post", "posts", "costs", "ask", "help"]),
    text=st.text(max_size=300),
)
def test_no_input_makes_the_parser_raise_anything_but_a_user_error(name: str, text: str) -> None:
    try:
        parse(name, text, max_chars=200)
    except UserError as exc:
        assert str(exc)


@settings(max_examples=1500, deadline=None)
@given(text=st.text(max_size=200))
def test_no_special_message_raises_anything_but_a_spec_error(text: str) -> None:
    try:
        spec = parse_special(text, max_items=10)
    except SpecError as exc:
        assert str(exc)
    else:
        assert 1 <= spec.total <= 10


def test_typed_options_are_checked_like_text_and_never_reparsed() -> None:
    from handlers.commands import Ask, checked

    typed = Propose('an idea that says pillar:x and special:"1 text"', None, "\u200b", None)
    assert checked(typed, max_chars=200) == Propose(
        'an idea that says pillar:x and special:"1 text"', None, None, None
    )
    with pytest.raises(UserError, match="the idea is empty"):
        checked(Propose(" \u200b "), max_chars=200)
    with pytest.raises(UserError, match="at most 10"):
        checked(Ask("a question that is too long"), max_chars=10)
    with pytest.raises(UserError, match="the note is empty"):
        checked(Refine(1, "  "), max_chars=10)


PROSE_TAILS = ["matters", "at 10:30", "https://x.y/z", "note: blah", "std::vector", "(done)"]


@pytest.mark.parametrize(
    "idea",
    [
        "Why the pillar: safety story matters",
        'a pillar:x and special:"1 text" in the middle of prose',
        *(f"options only at the end, so {tail}" for tail in PROSE_TAILS),
    ],
)
def test_prose_that_does_not_end_with_options_is_the_idea_word_for_word(idea: str) -> None:
    assert parse("propose", idea, max_chars=2000) == Propose(idea)
    assert parse("propose", f"{idea} pillar:p", max_chars=2000) == Propose(idea, "p")


def test_an_unknown_key_among_the_trailing_options_is_refused_by_name() -> None:
    with pytest.raises(UserError) as refused:
        parse("propose", 'an idea pillar:nope special:"x" colour:red', max_chars=2000)
    assert str(refused.value) == (
        "`colour:` is not an option of /propose; it takes pillar:, persona:, special:. "
        "To keep `colour:red` in the idea, put a space after the colon."
    )
    kept = parse("propose", 'an idea colour: red special:"x"', max_chars=2000)
    assert kept == Propose("an idea colour: red", special="x")


_QUOTE_CHARS = "\"'“”‘’"
_prose_word = st.text(
    st.characters(blacklist_categories=("C", "Z"), blacklist_characters=_QUOTE_CHARS),
    min_size=1,
    max_size=12,
)
_option_like = st.sampled_from(
    ["pillar:x", 'special:"1 video"', "colour:red", "https://x.y", "10:30", "note:", "PERSONA:@a"]
)
_gap = st.sampled_from([" ", "  ", "\n", "\t", " \n "])


@st.composite
def _prose(draw: st.DrawFn) -> str:
    """Words, some of them shaped like options, ending with a word that has no colon."""
    words = draw(st.lists(st.one_of(_prose_word, _option_like), min_size=1, max_size=12))
    words.append(draw(_prose_word.filter(lambda w: ":" not in w)))
    return "".join(w + draw(_gap) for w in words[:-1]) + words[-1]


@settings(max_examples=800, deadline=None)
@given(idea=_prose())
def test_any_prose_not_ending_with_options_parses_to_itself(idea: str) -> None:
    assert parse("propose", idea, max_chars=10_000) == Propose(idea.strip())


_value = st.from_regex(r"[A-Za-z0-9_@.-]{1,12}", fullmatch=True)
_spaced_value = st.text(st.sampled_from("ab1 :=,'."), min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=500, deadline=None)
@given(
    idea=_prose(),
    pillar=st.none() | _value,
    persona=st.none() | _value,
    special=st.none() | _spaced_value,
    data=st.data(),
)
def test_trailing_options_in_any_order_are_read_and_the_rest_is_the_idea(
    idea: str,
    pillar: str | None,
    persona: str | None,
    special: str | None,
    data: st.DataObject,
) -> None:
    given_options = [f"pillar:{pillar}"] if pillar else []
    given_options += [f"persona:{persona}"] if persona else []
    given_options += [f'special:"{special}"'] if special else []
    ordered = data.draw(st.permutations(given_options))
    text = " ".join([idea, *ordered])
    expected = Propose(idea.strip(), pillar, persona, special.strip() if special else None)
    assert parse("propose", text, max_chars=10_000) == expected
