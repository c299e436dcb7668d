"""The special message: exact item specs, and refusals that say what is wrong."""

from __future__ import annotations

import pytest

from pipeline.item_steps import STEPS
from pipeline.spec import FIT_STEP, FORMATS, STEP_TITLES, ItemSpec, SpecError, parse_special
from tests.support import SEED_SPECIAL


def test_seed_special_message_means_one_video_and_four_hero_text() -> None:
    spec = parse_special(SEED_SPECIAL, max_items=10)
    assert spec.formats() == ["video", "hero_text", "hero_text", "hero_text", "hero_text"]
    assert spec.describe() == "5 items: 1 video, 4 hero_text"


def test_spec_round_trips_through_its_own_sentence_and_json() -> None:
    spec = parse_special(SEED_SPECIAL, max_items=10)
    assert parse_special(spec.special_message(), max_items=10) == spec
    assert ItemSpec.from_json(spec.to_json()) == spec


def test_short_form_is_accepted() -> None:
    assert parse_special("2 text, 1 image", max_items=10).formats() == ["text", "text", "image"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Generate exactly 6 items: 1 with content_format='video' and 4 with "
            "content_format='hero_text'.",
            "the counts do not add up: it says exactly 6 items, but 1 + 4 = 5",
        ),
        ("Generate exactly 1 item: 1 with content_format='gif'.", "unknown content format 'gif'"),
        ("Generate exactly 11 items: 11 with content_format='text'.", "more than the limit of 10"),
        ("", "the special message is empty"),
        ("make it pop", "could not find any item counts"),
        ("0 text", "at least 1"),
    ],
)
def test_bad_specs_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("+", r"\+")):
        parse_special(text, max_items=10)


def test_unknown_format_message_lists_the_valid_ones() -> None:
    with pytest.raises(SpecError) as err:
        parse_special("1 with content_format='reel'", max_items=10)
    assert "valid formats: text, hero_text, image, video" in str(err.value)


def test_the_maximum_is_configurable() -> None:
    assert parse_special("12 text", max_items=20).total == 12


def test_every_step_of_every_format_has_a_function_and_a_title() -> None:
    named = {name for fmt in FORMATS.values() for name in fmt.steps}
    assert all(fmt.steps[0] == "draft" for fmt in FORMATS.values())  # the batch writes it
    assert named | {FIT_STEP} == set(STEPS)  # the fit: added by the runner where it applies
    assert named | {FIT_STEP} <= set(STEP_TITLES)
