"""Plans: /propose, /refine (and replies in a plan's thread), /run (and ✅ on a plan card)."""

from __future__ import annotations

from dataclasses import replace

from handlers import cards, permissions
from handlers.card_links import linked
from handlers.commands import Propose, Refine, RunPlan
from handlers.deps import Deps
from handlers.parsing import parse_options
from handlers.ports import Card, Invocation, MessageRef, Reply, Section, UserError
from handlers.posting import message_link
from handlers.text_steps import finish_text_step, recorded_call
from handlers.turns import add_bot_turn, add_user_turn, say
from handlers.workspace_publishing import persona_for
from pipeline.planner import closest_post, plan_request, refine_request
from pipeline.schemas import PlanText, Refinement
from pipeline.spec import ItemSpec, parse_special
from pipeline.structured import Structured
from storage import chat, plans, posts, steps
from storage.models import Plan, PlanRevision


async def propose(deps: Deps, inv: Invocation, cmd: Propose) -> Reply | None:
    # Everything that can be refused is checked before anything is written or spent.
    if not await permissions.may_spend(deps, inv):
        raise UserError(permissions.SPEND_REFUSAL)
    persona = await persona_for(deps, inv.workspace, cmd.persona)
    pillar = deps.personas.pillar(persona, cmd.pillar)
    special = cmd.special or pillar.default_special
    spec = parse_special(special, max_items=deps.rules.max_items)
    recent = await posts.recent_posts(
        deps.db.reader, place=inv.place, persona=persona.handle, pillar=pillar.name
    )
    closest = closest_post(cmd.idea, recent)
    request = plan_request(persona, pillar, cmd.idea, special, closest)
    async with deps.db.transaction() as conn:
        plan_id = await plans.create_plan(
            conn,
            persona=persona.handle,
            pillar=pillar.name,
            idea=cmd.idea,
            proposer=inv.who,
            platform=inv.platform,
            channel_id=inv.channel_id,
            now=deps.clock(),
            workspace=inv.workspace,
        )
        step_id = await steps.add_step(conn, name="plan", position=0, plan_id=plan_id, plan_rev=1)
        estimate = deps.pipeline.providers.text.estimate_cost(request)
        # Refused, the transaction writes no plan.
        claim = await deps.pipeline.budget.reserve_call(conn, estimate, step_id=step_id)
        await add_user_turn(conn, deps, inv, f"/propose {cmd.idea}", plan_id=plan_id)
    plan = await plans.get_plan(deps.db.reader, plan_id)
    assert plan is not None
    card_place = await _take_card_place(deps, inv, plan)
    try:
        result: Structured[PlanText] = await recorded_call(
            deps,
            step_id,
            deps.pipeline.text_call(request, reservation=claim),
            f"plan {plan.number} could not be written",
            reservation=claim,
        )
    except UserError as exc:
        await deps.port(inv.platform).edit(card_place, Card(str(exc)))  # what became of it
        raise
    revision = PlanRevision(
        plan_id=plan_id,
        rev=1,
        angle=result.value.angle,
        rationale=result.value.rationale,
        special_message=special,
        spec_json=spec.to_json(),
        closest_post_id=closest.post.id if closest else None,
        note=None,
        author=inv.who,
        created_at=deps.clock(),
    )
    card = await linked(
        deps.links,
        cards.plan_card(plan, revision, spec.describe()),
        inv.place,
        [("plan", plan_id, plan.number)],
    )
    refs = [(closest.post.id, "closest")] if closest else []
    async with deps.db.transaction() as conn:  # the outcome, in one write
        await plans.add_revision(conn, revision)
        await finish_text_step(conn, step_id, result, now=deps.clock())
        await add_bot_turn(conn, deps, card_place, card.plain_text(), refs=refs, plan_id=plan_id)
    await deps.port(inv.platform).edit(card_place, card)
    return None


async def _take_card_place(deps: Deps, inv: Invocation, plan: Plan) -> MessageRef:
    """Post the plan card's placeholder before anything is spent. Where the bot cannot post (a
    channel it is not in) the plan is taken back and the platform's refusal reaches the user.
    The placeholder is linked at once, so a ✅ or a reply on it while the plan is written is
    answered ("still being written") rather than lost."""
    placeholder = cards.planning_card(plan.number, plan.persona, plan.pillar, plan.idea)
    try:
        ref = await deps.port(inv.platform).send(inv.channel_id, placeholder)
    except BaseException:
        async with deps.db.transaction() as conn:
            await plans.discard_unwritten_plan(conn, plan.id)
        raise
    link = message_link(
        "plan_card", inv.platform, inv.channel_id, now=deps.clock(), plan_id=plan.id, rev=1
    )
    await deps.posting.record_link(replace(link, message_id=ref.message_id), ref)
    return ref


async def load_plan(deps: Deps, inv: Invocation, number: int) -> tuple[Plan, PlanRevision]:
    """The plan this channel calls `number`: a plan proposed elsewhere reads as no plan at all,
    so a refusal never tells that it exists in another (perhaps private) channel."""
    plan = await plans.plan_numbered(deps.db.reader, number, inv.place)
    revision = None
    if plan is not None and plan.current_rev == 0:
        if await plans.refinement_in_flight(deps.db.reader, plan.id):
            raise UserError(f"plan {number} is still being written; try again in a moment.")
        raise UserError(f"plan {number} could not be written; propose it again.")
    if plan is not None:
        revision = await plans.get_revision(deps.db.reader, plan.id, plan.current_rev)
    if plan is None or revision is None:
        newest = await plans.recent_plan_numbers(deps.db.reader, 1, place=inv.place)
        hint = f" The newest here is plan {newest[0]}." if newest else " Start one with /propose."
        raise UserError(f"there is no plan {number} here.{hint}")
    return plan, revision


async def changeable_plan(deps: Deps, inv: Invocation, number: int) -> tuple[Plan, PlanRevision]:
    """The plan, if this person may change it and spend on it; else a refusal saying who may."""
    plan, revision = await load_plan(deps, inv, number)
    if not await permissions.may_change(deps, inv.who, plan):
        raise UserError(permissions.change_refusal(plan))
    return plan, revision


async def refine(deps: Deps, inv: Invocation, cmd: Refine) -> Reply | None:
    plan, current = await changeable_plan(deps, inv, cmd.plan_number)
    persona = deps.personas.persona(plan.persona)
    note, special = cmd.note, current.special_message
    spec = ItemSpec.from_json(current.spec_json)
    note, options = parse_options(note, ("special",), command="/refine", prose="note")
    if "special" in options:
        spec = parse_special(options["special"], max_items=deps.rules.max_items)
        special = options["special"]
        note = note or f"batch changed to {spec.describe()}"
    request = refine_request(persona, current.angle, current.rationale, note)
    estimate = deps.pipeline.providers.text.estimate_cost(request)
    rev = current.rev + 1
    async with deps.db.transaction() as conn:
        # Checked with the step's insert, so two refinements at once cannot both take `rev`.
        fresh = await plans.get_plan(conn, plan.id)
        if fresh is None or fresh.current_rev != current.rev:
            raise UserError(
                f"plan {plan.number} was just revised; read the new revision, then refine."
            )
        if await plans.refinement_in_flight(conn, plan.id):
            raise UserError(
                f"plan {plan.number} is being revised right now; try again when it is done."
            )
        step_id = await steps.add_step(conn, name="plan", position=0, plan_id=plan.id, plan_rev=rev)
        claim = await deps.pipeline.budget.reserve_call(conn, estimate, step_id=step_id)
        await add_user_turn(conn, deps, inv, cmd.note, plan_id=plan.id)
    revised: Structured[Refinement] = await recorded_call(
        deps,
        step_id,
        deps.pipeline.text_call(request, reservation=claim),
        f"plan {plan.number} could not be revised",
        reservation=claim,
    )
    revision = PlanRevision(
        plan_id=plan.id,
        rev=rev,
        angle=revised.value.angle,
        rationale=revised.value.rationale,
        special_message=special,
        spec_json=spec.to_json(),
        closest_post_id=current.closest_post_id,
        note=note,
        author=inv.who,
        created_at=deps.clock(),
    )
    async with deps.db.transaction() as conn:
        await plans.add_revision(conn, revision)
        await finish_text_step(conn, step_id, revised, now=deps.clock())
    changes = [revised.value.change_summary]
    if special != current.special_message:
        changes.append(f"batch is now {spec.describe()}")
    answer = Card(
        title=f"plan {plan.number} · revision {rev}",
        sections=(
            Section("What changed", "; ".join(changes)),
            Section("Plan (drafter input)", revision.text),
        ),
        footer=f"/run {plan.number} runs revision {rev}",
    )
    # The answer goes in the plan card's thread (a plan lives in one channel, so the card is
    # where the command was given), and the card shows the new revision.
    card = await chat.latest_message(deps.db.reader, kind="plan_card", plan_id=plan.id)
    thread_id = card.message_id if card is not None else None
    refs = [(current.closest_post_id, "closest")] if current.closest_post_id else []
    await say(
        deps, inv.platform, inv.channel_id, answer, thread_id=thread_id, refs=refs, plan_id=plan.id
    )
    if card is not None:
        ref = MessageRef(card.platform, card.channel_id, card.message_id)
        shown = await linked(
            deps.links,
            cards.plan_card(plan, revision, spec.describe()),
            plan.place,
            [("plan", plan.id, plan.number)],
        )
        await deps.port(card.platform).edit(ref, shown)
    return None


async def start_run(
    deps: Deps, inv: Invocation, cmd: RunPlan, *, from_reaction: bool = False
) -> Reply | None:
    plan, revision = await changeable_plan(deps, inv, cmd.plan_number)
    estimate = await deps.pipeline.estimate_run(plan.persona, revision, plan.workspace)
    async with deps.db.transaction() as conn:
        active = await plans.active_run_for_plan(conn, plan.id)
        if active is not None:
            if from_reaction:
                return None
            raise UserError(f"plan {plan.number} is already running as run {active.number}.")
        if from_reaction and await plans.revision_has_run(conn, plan.id, revision.rev):
            return None  # a repeated ✅ must not start the same revision twice
        await deps.pipeline.budget.check_run(conn, estimate, workspace=plan.workspace)
        run_id = await plans.create_run(
            conn,
            plan_id=plan.id,
            plan_rev=revision.rev,
            platform=inv.platform,
            channel_id=inv.channel_id,
            started_by=inv.who,
            reserved_usd=estimate,
            now=deps.clock(),
        )
    await deps.progress.start(run_id, inv.platform, inv.channel_id)
    await deps.queue.enqueue(run_id)
    return None
