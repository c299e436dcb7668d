"""Plans: /propose, /refine (and replies in a plan's thread), /run (and ✅ on a plan card)."""

from __future__ import annotations

from handlers import cards, permissions
from handlers.commands import Propose, Refine, RunPlan
from handlers.deps import Deps
from handlers.parsing import parse_options
from handlers.ports import Card, Invocation, MessageRef, Reply, Section, UserError
from handlers.recording import finish_text_step, recorded_call
from handlers.spending import reserve_call
from handlers.turns import log_bot_turn, log_user_turn, say
from pipeline.budget import BudgetExceeded
from pipeline.personas import PersonaError
from pipeline.planner import closest_post, plan_request, refine_request
from pipeline.schemas import PlanText, Refinement
from pipeline.spec import ItemSpec, SpecError, parse_special
from pipeline.structured import Structured
from storage import chat, plans, posts, steps
from storage.models import MessageLink, Plan, PlanRevision


async def propose(deps: Deps, inv: Invocation, cmd: Propose) -> Reply | None:
    # Everything that can be refused is checked before anything is written or spent.
    if not permissions.may_spend(deps, inv.who):
        raise UserError(permissions.SPEND_REFUSAL)
    try:
        persona = deps.personas.persona(cmd.persona)
        pillar = deps.personas.pillar(persona, cmd.pillar)
        special = cmd.special or pillar.default_special
        spec = parse_special(special, max_items=deps.rules.max_items)
    except (PersonaError, SpecError) as exc:
        raise UserError(str(exc)) from None
    recent = await posts.recent_posts(
        deps.db.reader, place=inv.place, persona=persona.handle, pillar=pillar.name
    )
    closest = closest_post(cmd.idea, recent)
    request = plan_request(persona, pillar, cmd.idea, special, closest)
    estimate = deps.pipeline.providers.text.estimate_cost(request)

    now = deps.clock()
    async with deps.db.transaction() as conn:
        plan_id = await plans.create_plan(
            conn,
            persona=persona.handle,
            pillar=pillar.name,
            idea=cmd.idea,
            proposer=inv.who,
            platform=inv.platform,
            channel_id=inv.channel_id,
            now=now,
        )
        step_id = await steps.add_step(conn, name="plan", position=0, plan_id=plan_id, plan_rev=1)
        claim = await reserve_call(deps, conn, estimate, step_id=step_id)  # refused: no plan
    # The card's place is taken before anything is spent: where the bot cannot post (a channel
    # it is not in), the plan is taken back and the platform's refusal reaches the user.
    port = deps.port(inv.platform)
    try:
        placeholder = await port.send(
            inv.channel_id, cards.planning_card(plan_id, persona.handle, pillar.name, cmd.idea)
        )
    except BaseException:
        async with deps.db.transaction() as conn:
            await plans.discard_unwritten_plan(conn, plan_id)
        raise
    await log_user_turn(deps, inv, f"/propose {cmd.idea}", plan_id=plan_id)
    try:
        result: Structured[PlanText] = await recorded_call(
            deps,
            step_id,
            deps.pipeline.text_call(request, reservation=claim),
            f"plan {plan_id} could not be written",
            reservation=claim,
        )
    except UserError as exc:
        await port.edit(placeholder, Card(str(exc)))  # the card's place says what became of it
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
    async with deps.db.transaction() as conn:
        await plans.add_revision(conn, revision)
        await finish_text_step(conn, step_id, result, now=deps.clock())
    plan = await plans.get_plan(deps.db.reader, plan_id)
    assert plan is not None
    card = cards.plan_card(plan, revision, spec.describe())
    refs = [(closest.post.id, "closest")] if closest else []
    await port.edit(placeholder, card)
    ref = placeholder
    await log_bot_turn(
        deps,
        platform=ref.platform,
        channel_id=ref.channel_id,
        thread_id=None,
        message_id=ref.message_id,
        text=card.plain_text(),
        refs=refs,
        plan_id=plan_id,
    )
    await deps.delivery.record_link(
        MessageLink(
            platform=ref.platform,
            channel_id=ref.channel_id,
            message_id=ref.message_id,
            kind="plan_card",
            plan_id=plan_id,
            post_id=None,
            run_id=None,
            rev=1,
            created_at=deps.clock(),
        )
    )
    return None


async def load_plan(deps: Deps, inv: Invocation, plan_id: int) -> tuple[Plan, PlanRevision]:
    """The plan as this channel may see it: a plan proposed elsewhere reads as no plan at all,
    so a refusal never tells that it exists in another (perhaps private) channel."""
    plan = await plans.plan_in(deps.db.reader, plan_id, inv.place)
    revision = None
    if plan is not None and plan.current_rev == 0:
        raise UserError(f"plan {plan_id} is still being written; try again in a moment.")
    if plan is not None:
        revision = await plans.get_revision(deps.db.reader, plan_id, plan.current_rev)
    if plan is None or revision is None:
        newest = await plans.recent_plan_ids(deps.db.reader, 1, place=inv.place)
        hint = f" The newest here is plan {newest[0]}." if newest else " Start one with /propose."
        raise UserError(f"there is no plan {plan_id} here.{hint}")
    return plan, revision


async def changeable_plan(deps: Deps, inv: Invocation, plan_id: int) -> tuple[Plan, PlanRevision]:
    """The plan, if this person may change it and spend on it; else a refusal saying who may."""
    plan, revision = await load_plan(deps, inv, plan_id)
    if not permissions.may_change(deps, inv.who, plan):
        raise UserError(permissions.change_refusal(plan))
    return plan, revision


async def refine(deps: Deps, inv: Invocation, cmd: Refine) -> Reply | None:
    plan, current = await changeable_plan(deps, inv, cmd.plan_id)
    persona = deps.personas.persona(plan.persona)
    note, special = cmd.note, current.special_message
    spec = ItemSpec.from_json(current.spec_json)
    note, options = parse_options(note, ("special",), command="/refine", prose="note")
    if "special" in options:
        try:
            spec = parse_special(options["special"], max_items=deps.rules.max_items)
        except SpecError as exc:
            raise UserError(str(exc)) from None
        special = options["special"]
        note = note or f"batch changed to {spec.describe()}"
    request = refine_request(persona, current.angle, current.rationale, note)
    estimate = deps.pipeline.providers.text.estimate_cost(request)
    rev = current.rev + 1
    async with deps.db.transaction() as conn:
        # Checked with the step's insert, so two refinements at once cannot both take `rev`.
        fresh = await plans.get_plan(conn, plan.id)
        if fresh is None or fresh.current_rev != current.rev:
            raise UserError(f"plan {plan.id} was just revised; read the new revision, then refine.")
        if await plans.refinement_in_flight(conn, plan.id):
            raise UserError(
                f"plan {plan.id} is being revised right now; try again when it is done."
            )
        step_id = await steps.add_step(conn, name="plan", position=0, plan_id=plan.id, plan_rev=rev)
        claim = await reserve_call(deps, conn, estimate, step_id=step_id)
    await log_user_turn(deps, inv, cmd.note, plan_id=plan.id)
    revised: Structured[Refinement] = await recorded_call(
        deps,
        step_id,
        deps.pipeline.text_call(request, reservation=claim),
        f"plan {plan.id} could not be revised",
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
        title=f"plan {plan.id} · revision {rev}",
        sections=(
            Section("What changed", "; ".join(changes)),
            Section("Plan (drafter input)", revision.text),
        ),
        footer=f"/run {plan.id} runs revision {rev}",
    )
    thread = await chat.latest_message(deps.db.reader, kind="plan_card", plan_id=plan.id)
    same_place = thread is not None and thread.platform == inv.platform
    channel = thread.channel_id if thread and same_place else inv.channel_id
    thread_id = thread.message_id if thread and same_place else None
    refs = [(current.closest_post_id, "closest")] if current.closest_post_id else []
    await say(deps, inv.platform, channel, answer, thread_id=thread_id, refs=refs, plan_id=plan.id)
    if thread is not None and thread.platform in deps.ports:
        updated = cards.plan_card(plan, revision, spec.describe())
        ref = MessageRef(thread.platform, thread.channel_id, thread.message_id)
        await deps.port(thread.platform).edit(ref, updated)
    return None


async def start_run(
    deps: Deps, inv: Invocation, cmd: RunPlan, *, from_reaction: bool = False
) -> Reply | None:
    plan, revision = await changeable_plan(deps, inv, cmd.plan_id)
    estimate = await deps.pipeline.estimate_run(plan.persona, revision)
    async with deps.db.transaction() as conn:
        active = await plans.active_run_for_plan(conn, plan.id)
        if active is not None:
            if from_reaction:
                return None
            raise UserError(f"plan {plan.id} is already running as run {active.id}.")
        if from_reaction and await plans.revision_has_run(conn, plan.id, revision.rev):
            return None  # a repeated ✅ must not start the same revision twice
        try:
            await deps.pipeline.budget.check_run(conn, estimate)
        except BudgetExceeded as exc:
            raise UserError(str(exc)) from None
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
    await deps.delivery.start_progress(run_id, inv.platform, inv.channel_id)
    await deps.queue.enqueue(run_id)
    return None
