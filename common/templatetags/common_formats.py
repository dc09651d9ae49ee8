"""The formats of common/formats.py for templates: {{ when|moment }}, {{ value|money }}."""

from django import template

from common import formats

register = template.Library()


@register.filter
def moment(value):
    return formats.moment(value)


@register.filter
def money(value):
    return formats.money(value)


@register.filter
def number(value):
    return formats.number(value)
