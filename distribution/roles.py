"""The people who use couponops, as Django groups with exactly their permissions.

Applied by a data migration (so every database has them) and by `manage.py setup_roles` (to put a
group back as written here after someone changed it by hand). A user's role is the group they are in;
the django-q2 task tables are for superusers only whatever the groups say (distribution/admin/tasks.py).
"""

from django.apps import apps as global_apps

ROLES = {
    # Drafts, previews and confirms campaigns; cancels or revokes a mistake; keeps coupons up to date.
    "marketer": [
        "distribution.view_coupon",
        "distribution.add_coupon",
        "distribution.change_coupon",
        "distribution.view_distributionrequest",
        "distribution.add_distributionrequest",
        "distribution.change_distributionrequest",
        "distribution.cancel_distributionrequest",
        "distribution.revoke_distributionrequest",
        "campaigns.view_schedule",
        "campaigns.add_schedule",
        "campaigns.change_schedule",
        "campaigns.view_schedulerun",
    ],
    # Approves or rejects large requests of others, cancels and revokes, reads and exports the history.
    "manager": [
        "distribution.view_coupon",
        "distribution.view_distributionrequest",
        "distribution.approve_distributionrequest",
        "distribution.cancel_distributionrequest",
        "distribution.revoke_distributionrequest",
        "distribution.view_transition",
        "notifications.view_notification",
        "campaigns.view_schedule",
        "campaigns.view_schedulerun",
    ],
    # Answers members: which coupons they hold, whether usable, until when.
    "support": [
        "distribution.view_coupon",
        "distribution.view_distributionrequest",
    ],
}


def roles_apply(apps=global_apps, *, labels=None):
    """Creates each group, or sets it back, to exactly its permissions (a migration: those of the apps in
    `labels` only, the others' not being created yet; each app's own migration applies them)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        wanted = [
            Permission.objects.get(content_type__app_label=code.split(".")[0], codename=code.split(".")[1])
            for code in codes
            if labels is None or code.split(".")[0] in labels
        ]
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(wanted)


def user_roles_make_staff(*, user) -> bool:
    """A user in a role logs in to the admin: membership in the group is enough, so staff status follows it.
    True if it was turned on now."""
    if user.is_staff or not user.groups.filter(name__in=ROLES).exists():
        return False
    updated = type(user).objects.filter(pk=user.pk, is_staff=False).update(is_staff=True)
    user.is_staff = True
    return bool(updated)


def user_role_grant(*, user, role: str) -> None:
    """Puts the user in the role's group and lets them log in (`manage.py grant_role <username> <role>`)."""
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=role))
    user_roles_make_staff(user=user)
