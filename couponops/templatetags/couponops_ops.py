from django import template
from django.conf import settings
from django.db import DatabaseError

from common.heartbeat import cluster_names, heartbeat_ages

register = template.Library()


@register.inclusion_tag("admin/couponops/worker_banner.html")
def worker_banner():
    """A warning for each worker cluster that has stopped reporting (or never has)."""
    try:
        ages = heartbeat_ages()
    except DatabaseError:
        return {"silent": []}
    limit = settings.WORKER_HEARTBEAT_STALE
    silent = [
        {
            "cluster": name,
            "distribution": name == settings.Q_CLUSTER["name"],
            "minutes": None if ages.get(name) is None else max(1, round(ages[name] / 60)),
        }
        for name in cluster_names()
        if ages.get(name) is None or ages[name] > limit
    ]
    return {"silent": silent}
