"""The personas file is checked at start-up: names Discord can take as choices and one can type."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from bot.discord_commands import name_choices
from pipeline.personas import PersonaError, load_personas
from tests.discord_support import discord_py_restored
from tests.fakes.discord import FakeDiscord

REPO = Path(__file__).resolve().parents[1]
LONG_PILLAR = "deep_dives_" + "x" * 90  # 101 characters


def personas_file(tmp_path: Path, handle: str = "aaron", *pillars: str) -> Path:
    pillars = pillars or ("field_notes",)
    key = json.dumps(handle, ensure_ascii=False)  # a TOML quoted key
    lines = [f"[personas.{key}]", f"default_pillar = {json.dumps(pillars[0])}"]
    for pillar in pillars:
        lines += [f"[personas.{key}.pillars.{json.dumps(pillar)}]", 'description = "notes"']
    path = tmp_path / "personas.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(PersonaError) as refused:
        load_personas(path)
    return str(refused.value)


def test_a_pillar_name_over_100_characters_is_refused_naming_file_name_and_fix(
    tmp_path: Path,
) -> None:
    assert len(LONG_PILLAR) == 101
    path = personas_file(tmp_path, "aaron", "field_notes", LONG_PILLAR)
    assert refusal(path) == (
        f"personas file {path}: pillar name 'deep_dives_xxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 101 "
        "characters; shorten it to at most 100 (Discord's limit for command choices)."
    )
    fits = load_personas(personas_file(tmp_path, "aaron", LONG_PILLAR[:100]))
    assert fits.all_pillars() == [LONG_PILLAR[:100]]


def test_a_handle_over_100_characters_counted_as_discord_may_is_refused(tmp_path: Path) -> None:
    handle = "a" + "😀" * 50  # 51 code points, 101 UTF-16 units
    assert "persona name 'a😀😀" in refusal(personas_file(tmp_path, handle))
    assert "is 101 characters" in refusal(personas_file(tmp_path, handle))


@pytest.mark.parametrize(
    ("pillar", "said"),
    [
        ("", "a pillar name is empty; give it a name."),
        ("deep dives", "pillar name 'deep dives' cannot be typed as pillar:NAME; use one word"),
        ('say "hi"', "pillar name 'say \"hi\"' cannot be typed as pillar:NAME"),
        ("zero\u200bwidth", "pillar name 'zero\\u200bwidth' cannot be typed as pillar:NAME"),
        ("two\nlines", "pillar name 'two\\u000alines' cannot be typed"),
        ("@notes", "cannot be typed as pillar:NAME"),
    ],
)
def test_names_that_cannot_be_typed_are_refused(tmp_path: Path, pillar: str, said: str) -> None:
    assert said in refusal(personas_file(tmp_path, "aaron", pillar))


def test_names_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    path = personas_file(tmp_path, "aaron", "Notes", "notes")
    assert refusal(path) == (
        f"personas file {path}: pillar name 'notes' is given twice for persona 'aaron' "
        "(names are compared ignoring case); rename one."
    )
    path.write_text(
        '[personas.Aaron.pillars.a]\ndescription = "x"\n'
        '[personas.aaron.pillars.b]\ndescription = "y"\n',
        encoding="utf-8",
    )
    assert "persona name 'aaron' is given twice" in refusal(path)


def test_a_persona_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "personas.toml"
    path.write_text('[personas]\naaron = "a writer"\n', encoding="utf-8")
    assert refusal(path) == (
        f"personas file {path}: personas.aaron must be a table, like [personas.aaron]."
    )


def test_the_example_file_still_loads() -> None:
    personas = load_personas(REPO / "pipeline" / "personas.example.toml")
    assert set(personas.by_handle) == {"aiaaron", "labnotes"}


def test_choices_never_carry_a_value_discord_would_refuse() -> None:
    choices = name_choices(["x" * 101, "", "notes", *(f"p{i}" for i in range(30))])
    assert [c.value for c in choices][:2] == ["notes", "p0"]
    assert len(choices) == 25
    assert all(1 <= len(c.name) <= 100 and len(c.value) <= 100 for c in choices)


async def test_the_bot_refuses_to_start_on_a_101_character_pillar_with_one_clear_line(
    tmp_path: Path,
) -> None:
    bad = personas_file(tmp_path, "aaron", "field_notes", LONG_PILLAR)
    with discord_py_restored():
        async with FakeDiscord() as fake:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))}
            env.update(
                PYTHONPATH=str(REPO),
                PERSONAS_FILE=str(bad),
                DISCORD_BOT_TOKEN=fake.token,
                DISCORD_API_URL=fake.api_url,
                DISCORD_GATEWAY_URL=fake.gateway_url,
                DISCORD_GUILD_ID=str(fake.guild_id),
                DRAFTROOM_DB=str(tmp_path / "draftroom.db"),
                DRAFTROOM_MEDIA_DIR=str(tmp_path / "media"),
            )
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=tmp_path,  # no .env here
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

            assert process.returncode != 0
            assert time.monotonic() - started < 15
            said = (out + err).decode().strip()
            assert "Traceback" not in said
            assert said.splitlines() == [
                f"draftroom: personas file {bad}: pillar name "
                "'deep_dives_xxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is 101 characters; shorten it to at "
                "most 100 (Discord's limit for command choices)."
            ]
            assert not fake.command_syncs and not fake.identifies
