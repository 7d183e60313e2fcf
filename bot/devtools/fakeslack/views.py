"""The views.* methods (open, push, update, publish) and the modal stack they keep, as Slack
answers them; and a view_submission's answer (`response_action`) applied to that stack."""

from __future__ import annotations

from bot.devtools.fakeslack.arguments import (
    MAX_MODAL_STACK,
    check_external_id,
    check_hash,
    find_user,
    optional,
    required,
    view_arg,
)
from bot.devtools.fakeslack.errors import SlackRefusal
from bot.devtools.fakeslack.objects import view_object
from bot.devtools.fakeslack.recorder import FakeSlack
from bot.devtools.fakeslack.records import (
    JsonDict,
    StoredView,
)


def views_open(fake: FakeSlack, args: JsonDict) -> JsonDict:
    trigger_id = required(args, "trigger_id")
    view = view_arg(args, "modal")
    check_external_id(fake, view)
    user_id, error = fake.redeem_trigger(trigger_id)
    if error is not None:
        raise SlackRefusal(error)
    view_id = fake.new_id("V")
    stored = StoredView(
        view_id,
        user_id,
        view_object(fake, view_id, view, root_view_id=view_id, previous_view_id=None),
    )
    fake.save_view(stored)
    return {"view": stored.view}


def views_push(fake: FakeSlack, args: JsonDict) -> JsonDict:
    trigger_id = required(args, "trigger_id")
    view = view_arg(args, "modal")
    check_external_id(fake, view)
    user_id, error = fake.redeem_trigger(trigger_id)
    if error is not None:
        raise SlackRefusal(error)
    top = top_modal(fake, user_id)
    view_id = fake.new_id("V")
    root = view_id if top is None else str(top.view["root_view_id"])
    if top is not None:
        depth = sum(1 for v in fake.views.values() if v.view.get("root_view_id") == root)
        if depth >= MAX_MODAL_STACK:
            raise SlackRefusal("push_limit_reached")
    previous = None if top is None else top.id
    stored = StoredView(
        view_id,
        user_id,
        view_object(fake, view_id, view, root_view_id=root, previous_view_id=previous),
    )
    fake.save_view(stored)
    return {"view": stored.view}


def top_modal(fake: FakeSlack, user_id: str | None) -> StoredView | None:
    """The user's most recently opened or pushed modal (views are kept in creation order)."""
    if user_id is None:
        return None
    modals = [v for v in fake.views.values() if v.type == "modal" and v.user_id == user_id]
    return modals[-1] if modals else None


def views_update(fake: FakeSlack, args: JsonDict) -> JsonDict:
    view_id, external_id = optional(args, "view_id"), optional(args, "external_id")
    if view_id is None and external_id is None:
        raise SlackRefusal("invalid_arguments")
    stored = (
        fake.open_view(view_id)
        if view_id is not None
        else fake.view_by_external_id(external_id or "")
    )
    if stored is None or stored.id in fake.closed_views:
        raise SlackRefusal("not_found")  # never opened, or closed by its person since
    view = view_arg(args, stored.type)
    check_external_id(fake, view, stored.id)
    check_hash(args, stored)
    replace_view(fake, stored, view)
    return {"view": stored.view}


def replace_view(fake: FakeSlack, stored: StoredView, given: JsonDict) -> None:
    """views.update, or a view_submission answered `response_action: update`: Slack replaces
    the view whole, keeping its id and its place in the stack."""
    stored.view = view_object(
        fake,
        stored.id,
        given,
        root_view_id=str(stored.view["root_view_id"]),
        previous_view_id=stored.view.get("previous_view_id"),
    )
    fake.save_view(stored)


def push_view(fake: FakeSlack, below: StoredView, given: JsonDict) -> StoredView:
    """A view_submission answered `response_action: push`: a new view on top of `below`."""
    view_id = fake.new_id("V")
    root = str(below.view["root_view_id"])
    pushed = StoredView(
        view_id,
        below.user_id,
        view_object(fake, view_id, given, root_view_id=root, previous_view_id=below.id),
    )
    fake.save_view(pushed)
    return pushed


def apply_submission_ack(fake: FakeSlack, stored: StoredView, answer: JsonDict) -> dict[str, str]:
    """What Slack does with the app's ack of a view_submission (its `response_action`): `errors`
    keeps the modal open with the messages beside the inputs (returned), `update` replaces it,
    `push` stacks a new one, `clear` closes the whole stack, and anything else closes this one
    (Slack's "Handling and responding to interactions" for modals)."""
    what = answer.get("response_action")
    if what == "errors":
        return {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
    if what == "update" and isinstance(answer.get("view"), dict):
        replace_view(fake, stored, answer["view"])
    elif what == "push" and isinstance(answer.get("view"), dict):
        push_view(fake, stored, answer["view"])
    elif what == "clear":
        fake.close_view(str(stored.view.get("root_view_id") or stored.id))
    else:
        fake.close_view(stored.id)
    return {}


def views_publish(fake: FakeSlack, args: JsonDict) -> JsonDict:
    user = find_user(fake, required(args, "user_id", "user_not_found"))
    view = view_arg(args, "home")
    current = fake.home_view(user.id)
    if current is not None:
        check_hash(args, current)
    view_id = current.id if current is not None else fake.new_id("V")
    check_external_id(fake, view, view_id)
    stored = StoredView(
        view_id,
        user.id,
        view_object(fake, view_id, view, root_view_id=view_id, previous_view_id=None),
    )
    fake.save_view(stored)
    return {"view": stored.view}
