"""The admin's forms: a new request (which asks the service for the preview), a reason, the export's columns."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from import_export.forms import SelectableFieldsExportForm

from .. import selectors, services
from ..models import Coupon, DistributionRequest
from ..sources import source_names


class MemberCouponForm(forms.Form):
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Kept in the history of the request that issued the coupon."),
    )


class RejectForm(forms.Form):
    reason = forms.CharField()


class CouponChoiceField(forms.ModelChoiceField):
    """Lists the issuable coupons; accepts any, so that one which expired after the page was loaded
    gets the service's message saying why, not "not one of the available choices"."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return Coupon.objects.with_issued().get(pk=value)
        except (ValueError, TypeError, Coupon.DoesNotExist):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None

    def label_from_instance(self, coupon):
        left = coupon.budget_left()
        if left is None:
            return str(coupon)
        return _("%(coupon)s · %(left)s left in budget") % {
            "coupon": coupon,
            "left": number_format(left, force_grouping=True),
        }


class DistributionRequestForm(forms.ModelForm):
    source = forms.ChoiceField(label=capfirst(_("source")))
    coupon = CouponChoiceField(
        queryset=Coupon.objects.none(),
        label=capfirst(_("coupon")),
        help_text=_(
            "Only coupons that can be issued now are listed: inactive coupons, expired ones and those "
            "whose budget is spent are not."
        ),
    )

    class Meta:
        model = DistributionRequest
        fields = ("coupon", "source", "table", "column", "memo", "not_before")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "table" in self.fields:  # the read-only view of a submitted request has no model fields
            self.fields["source"].choices = [(name, name) for name in source_names()]
            self.fields["coupon"].queryset = Coupon.objects.issuable()
            self.fields["table"].help_text = table_help()
            self.fields["table"].widget.attrs.update(autocomplete="off", list="table-suggestions")
            self.fields["column"].widget.attrs.update(autocomplete="off", list="column-suggestions")

    def clean(self):
        """Asks the service for the preview while validating: whatever it refuses lands on its field,
        and save_model then only saves."""
        cleaned = super().clean()
        if self.errors:
            return cleaned
        draft = self.instance
        for field in ("coupon", "source", "table", "column", "not_before"):
            setattr(draft, field, cleaned[field])
        try:
            services.distribution_preview(distribution=draft)
        except ValidationError as exc:
            self.add_error(None, exc)
        else:  # the names as the metadata spells them, which the form would otherwise overwrite
            cleaned["table"], cleaned["column"] = draft.table, draft.column
        return cleaned


def table_help():
    examples = ", ".join(filter(None, (selectors.source_example_table(source=name) for name in source_names())))
    if not examples:
        return _("catalog.schema.table")
    return _("catalog.schema.table, for example %(examples)s. Suggestions appear as you type.") % {"examples": examples}


class ExportForm(SelectableFieldsExportForm):
    """The columns to export named as their headers read, in the reader's language (not "Read Count").
    `_get_field_label` is django-import-export's own hook for it (4.x, pinned in requirements.txt)."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return capfirst(str(field.column_name)) if field else super()._get_field_label(resource, field_name)
