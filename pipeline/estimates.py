"""Upper bounds of what a run, or a new revision of one item, may spend, for the budget.

A mixin of `Pipeline` (pipeline/runner.py). The per-call estimates made when the calls happen
must fit inside these, so each is built from the request the step will make, or from the largest
one it can make.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline import drafting
from pipeline.personas import Persona, Personas
from pipeline.providers.base import MediaRequest, TextRequest
from pipeline.spec import FORMATS, ItemSpec
from storage import plans
from storage.db import Database
from storage.models import Post

if TYPE_CHECKING:
    from pipeline.runner import Providers

# A batch's seed (its run id) has at most this many digits, and an item's body, from which its
# video script is written, at most this many bytes (a draft's 1200 tokens at 6 bytes each).
_LARGEST_SEED = 10**12
_LONGEST_BODY_BYTES = 1200 * 6


class Estimates:
    db: Database
    providers: Providers
    personas: Personas

    async def estimate_run(self, persona: str, revision: Any) -> float:
        """An upper bound of what a run of this plan revision may spend, for the budget."""
        formats = ItemSpec.from_json(revision.spec_json).formats()
        person = self.personas.persona(persona)
        batch = drafting.draft_request(
            person, revision.text, revision.angle, formats, seed=_LARGEST_SEED
        )
        total = self.providers.text.estimate_cost(batch)
        for content_format in formats:
            total += self.estimate_item(person, revision, content_format)
        return round(total, 6)

    def estimate_item(
        self,
        person: Persona,
        revision: Any,
        content_format: str,
        redraft: TextRequest | None = None,
    ) -> float:
        """What one item's steps may spend: the media and script steps of its format, and its
        draft when it is drafted again on its own (`redraft`; a run drafts its batch at once)."""
        names = FORMATS[content_format].steps
        total = self.providers.text.estimate_cost(redraft) if redraft is not None else 0.0
        if "hero_image" in names or "poster_frame" in names:
            image = MediaRequest(kind="image", prompt=revision.angle[:500])
            total += self.providers.images.estimate_cost(image)
        if "video_script" in names:
            # The script is written from the item's drafted body, at most a draft's max_tokens.
            longest = drafting.script_request(person, "h" * 90, "b" * _LONGEST_BODY_BYTES)
            total += self.providers.text.estimate_cost(longest)
        if "video_clip" in names:
            video = MediaRequest(kind="video", prompt=revision.angle[:500])
            total += self.providers.video.estimate_cost(video)
        return total

    async def estimate_revision(self, post: Post, note: str | None) -> float:
        """What a new revision of `post` may spend: its draft again, then its other steps."""
        revision = await plans.get_revision(self.db.reader, post.plan_id, post.plan_rev)
        assert revision is not None
        person = self.personas.persona(post.persona)
        redraft = drafting.draft_request(
            person,
            revision.text,
            revision.angle,
            [post.content_format],
            seed=post.id * 7 + post.rev + 1,
            note=note,
            previous=post.body,
        )
        return round(self.estimate_item(person, revision, post.content_format, redraft), 6)
